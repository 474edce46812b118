/**
 * Abuse from one address (security review H1, M3) through the real server with low limits of its own.
 * Each test speaks from its own loopback address (127.0.0.x), since the limits are per address.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { SendAck } from "@/lib/protocol/chat";
import { TRANSCRIPT_PAGE_SIZE, type ConversationDetail } from "@/lib/protocol/staff";
import { ErrorCode } from "@/lib/protocol/errors";
import { connectCustomer, nextEvent, type ChatClient } from "../helpers/chat-client";
import { startServer, type RunningServer } from "../helpers/server";
import { staffApi, staffLogin } from "../helpers/staff";

const databaseUrl = inject("databaseUrl");
// lib modules read DATABASE_URL when first used, so it is set before they are imported.
process.env.DATABASE_URL = databaseUrl;
const { createStaffUser } = await import("@/lib/auth/session");
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const sockets: { disconnect(): unknown }[] = [];
let server: RunningServer;

const QUESTION = "How long does express shipping take to Germany?";

beforeAll(async () => {
  server = await startServer({
    DATABASE_URL: databaseUrl,
    LOOPDESK_MODELS_DIR: inject("modelsDir"),
    CUSTOMER_TOKEN_SECRET: "abuse-secret-abuse-secret-abuse-secret-01",
    LM_MAX_NEW_TOKENS: "16",
    LM_BATCH_SIZE: "1",
    LM_QUEUE_LIMIT: "3",
    PENDING_TURNS_PER_ADDRESS: "2",
    SOCKETS_PER_ADDRESS: "4",
    SOCKET_EVENT_BURST: "5",
    SOCKET_EVENTS_PER_SECOND: "1",
    RATE_LIMIT_CONNECTIONS_PER_IP: "8",
    HISTORY_PAGE_SIZE: "4",
    MAX_CONVERSATION_MESSAGES: "12",
  });
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await server?.stop();
  await pool.end();
});

async function customer(localAddress: string): Promise<ChatClient> {
  const { socket } = await connectCustomer(server.url, undefined, { localAddress });
  sockets.push(socket);
  return socket;
}

async function stored(clientMessageId: string): Promise<number> {
  const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "Message" WHERE "clientMessageId" = $1`, [clientMessageId]);
  return rows[0].n;
}

/** Resolves with the reply's chat:done, or rejects on a chat:error for the conversation. */
function answered(socket: ChatClient, conversationId: string) {
  return new Promise<void>((resolve, reject) => {
    socket.on("chat:done", (p) => p.conversationId === conversationId && resolve());
    socket.on("chat:error", (e) => (e.conversationId ?? conversationId) === conversationId && reject(new Error(`${e.code}: ${e.message}`)));
  });
}

describe("generation work is admitted per address before the acknowledgement (H1)", () => {
  it("refuses one address's flood with busy before storing, answers every acknowledged message, and the refused one on resend", async () => {
    // Three minted customers from one address and one customer from each of two others send at once:
    // the address may have two messages waiting, the process three in all.
    const flood = await Promise.all([1, 2, 3].map(() => customer("127.0.0.2")));
    const others = [await customer("127.0.0.3"), await customer("127.0.0.4")];
    const ids = [...flood, ...others].map(() => randomUUID());
    const send = (s: ChatClient, i: number) => s.emitWithAck("chat:send", { clientMessageId: ids[i]!, text: QUESTION });
    const [acks, otherAcks] = await Promise.all([Promise.all(flood.map(send)), Promise.all(others.map((s, i) => send(s, 3 + i)))]);
    const refused = acks.flatMap((a, i) => (a.ok ? [] : [i]));
    expect(refused).toHaveLength(1);
    const r = refused[0]!;
    // Refused before anything is stored, retryable.
    expect(acks[r]).toMatchObject({ ok: false, error: { code: ErrorCode.busy, retryable: true, retryAfterMs: expect.any(Number) } });
    expect(await stored(ids[r]!)).toBe(0);
    // Another address still gets in, and the process is then full for the last one.
    expect(otherAcks.map((a) => a.ok).sort()).toEqual([false, true]);
    const late = otherAcks.findIndex((a) => !a.ok);
    expect(otherAcks[late]).toMatchObject({ ok: false, error: { code: ErrorCode.busy, retryable: true } });
    expect(await stored(ids[3 + late]!)).toBe(0);
    const legit = others[1 - late]!;
    const legitAck = otherAcks[1 - late]!;

    // Every acknowledged message is answered: no busy (or any error) after an acknowledgement.
    const ok = (a: SendAck) => (a.ok ? a.conversationId : "");
    await Promise.all([
      answered(legit, ok(legitAck)),
      ...acks.flatMap((a, i) => (a.ok ? [answered(flood[i]!, a.conversationId)] : [])),
    ]);

    // Once the address's replies are done, the refused message goes through on resend.
    const again = await flood[r]!.emitWithAck("chat:send", { clientMessageId: ids[r]!, text: QUESTION });
    expect(again.ok).toBe(true);
    await answered(flood[r]!, ok(again));
    expect(await stored(ids[r]!)).toBe(1);
  }, 90_000);
});

describe("open sockets per address are capped at the engine (H1)", () => {
  const connectError = (namespace: string, localAddress: string) =>
    new Promise<Error & { data?: { code: string } }>((resolve, reject) => {
      const s = io(`${server.url}${namespace}`, { forceNew: true, transports: ["websocket"], reconnection: false, localAddress } as never);
      sockets.push(s);
      s.on("connect", () => reject(new Error(`${namespace} connected`)));
      s.on("connect_error", resolve);
    });

  it("refuses a connection beyond the cap on any namespace, counts per address, and frees the slot on disconnect", async () => {
    const open = await Promise.all([1, 2, 3, 4].map(() => customer("127.0.0.5")));
    const chat = await connectError("/chat", "127.0.0.5");
    expect(chat.data).toBeUndefined(); // refused by the engine, before /chat's own checks
    expect(chat.message).toBe("websocket error");
    // The staff namespace would refuse an unauthenticated handshake; the engine refuses it first.
    const staff = await connectError("/staff", "127.0.0.5");
    expect(staff.data).toBeUndefined();
    await customer("127.0.0.6"); // another address is not affected

    open[0]!.disconnect();
    let reconnected: ChatClient | null = null;
    for (let i = 0; i < 50 && !reconnected; i++) {
      reconnected = await customer("127.0.0.5").catch(() => null);
      if (!reconnected) await new Promise((r) => setTimeout(r, 100));
    }
    expect(reconnected?.connected).toBe(true);
  });
});

describe("every event of a socket takes from one bucket (M3)", () => {
  it("answers events beyond the burst with rate_limited before any work, whatever the event, then recovers", async () => {
    const socket = await customer("127.0.0.7");
    const unknown = randomUUID();
    const clientMessageId = randomUUID();
    // Five different events use up the burst of five, so the sixth, whatever it is, is refused with a
    // time to wait, before any work: nothing is stored.
    const [history, stop, rate, feedback, clarify, send] = await Promise.all([
      socket.emitWithAck("chat:history", { conversationId: unknown }),
      socket.emitWithAck("chat:stop", { messageId: unknown }),
      socket.emitWithAck("chat:rate", { conversationId: unknown, rating: 5 }),
      socket.emitWithAck("chat:feedback", { messageId: unknown, helpful: true }),
      socket.emitWithAck("chat:clarify", { messageId: unknown, intent: "shipping" }),
      socket.emitWithAck("chat:send", { clientMessageId, text: "hello there" }),
    ]);
    for (const a of [history, stop, rate, feedback, clarify]) expect(a).toMatchObject({ ok: false, error: { code: expect.not.stringMatching(ErrorCode.rateLimited) } });
    expect(send).toMatchObject({ ok: false, error: { code: ErrorCode.rateLimited, retryAfterMs: expect.any(Number) } });
    if (send.ok) return;
    expect(send.error.retryAfterMs).toBeGreaterThan(0);
    expect(send.error.retryAfterMs).toBeLessThanOrEqual(1000);
    expect(await stored(clientMessageId)).toBe(0);
    const typing = nextEvent<{ code: string }>(socket, "chat:error", (e) => e.code === ErrorCode.rateLimited, 5000);
    socket.emit("chat:typing", { conversationId: unknown });
    await typing;
    expect(await socket.emitWithAck("chat:history", { conversationId: unknown })).toMatchObject({ ok: false, error: { code: ErrorCode.rateLimited } });

    await new Promise((r) => setTimeout(r, 1100));
    expect(await socket.emitWithAck("chat:history", { conversationId: unknown })).toMatchObject({ ok: false, error: { code: ErrorCode.unknownConversation } });
  });

  it("throttles staff and ML handshakes per address before looking up the session", async () => {
    const handshake = (namespace: string) =>
      new Promise<{ code?: string }>((resolve) => {
        const s = io(`${server.url}${namespace}`, {
          forceNew: true,
          transports: ["websocket"],
          reconnection: false,
          localAddress: "127.0.0.8",
          extraHeaders: { cookie: `loopdesk_staff=${randomUUID()}` },
        } as never);
        sockets.push(s);
        s.on("connect_error", (err: Error & { data?: { code: string } }) => {
          s.disconnect();
          resolve(err.data ?? {});
        });
      });
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 8; i++) codes.push((await handshake(i % 2 ? "/staff" : "/ml")).code);
    expect(codes).toEqual(Array(8).fill(ErrorCode.unauthenticated));
    expect(await handshake("/staff")).toMatchObject({ code: ErrorCode.rateLimited });
    expect(await handshake("/ml")).toMatchObject({ code: ErrorCode.rateLimited });
  });
});

/** A customer's answered first message, then `filler` more stored a millisecond apart. */
async function conversationWithFiller(address: string, filler: number) {
  const socket = await customer(address);
  const first = await socket.emitWithAck("chat:send", { clientMessageId: randomUUID(), text: "hello there" });
  if (!first.ok) throw new Error(first.error.code);
  const { conversationId } = first;
  await nextEvent(socket, "chat:done", (p: { conversationId: string }) => p.conversationId === conversationId);
  await pool.query(
    `INSERT INTO "Message" (id, "conversationId", role, text, "createdAt")
     SELECT gen_random_uuid(), $1, 'customer', 'filler ' || i, now() + i * interval '1 millisecond' FROM generate_series(1, $2::int) i`,
    [conversationId, filler],
  );
  return { socket, conversationId };
}

describe("history is paged and a conversation's length is capped (M3)", () => {
  it("returns the newest page with a cursor, and older pages by cursor", async () => {
    // Eight more messages after the first exchange: ten in all.
    const { socket, conversationId } = await conversationWithFiller("127.0.0.9", 8);
    const { rows } = await pool.query<{ id: string }>(`SELECT id FROM "Message" WHERE "conversationId" = $1 ORDER BY "createdAt", id`, [conversationId]);
    expect(rows).toHaveLength(10);

    const pages: string[][] = [];
    let before: string | undefined;
    for (;;) {
      const page = await socket.emitWithAck("chat:history", { conversationId, before });
      if (!page.ok) throw new Error(page.error.code);
      pages.unshift(page.messages.map((m) => m.id));
      if (!page.olderCursor) break;
      before = page.olderCursor;
      await new Promise((r) => setTimeout(r, 1000)); // within the event bucket's refill
    }
    expect(pages.map((p) => p.length)).toEqual([2, 4, 4]);
    expect(pages.flat()).toEqual(rows.map((r) => r.id));
    expect(await socket.emitWithAck("chat:history", { conversationId, before: "not-a-cursor" })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.invalidPayload },
    });
  }, 30_000);

  it("refuses a customer message once the conversation has reached its cap, storing nothing; a new chat works", async () => {
    // Ten more make twelve, the cap.
    const { socket, conversationId } = await conversationWithFiller("127.0.0.10", 10);
    const clientMessageId = randomUUID();
    const full = await socket.emitWithAck("chat:send", { conversationId, clientMessageId, text: "hello again" });
    expect(full).toMatchObject({ ok: false, error: { code: ErrorCode.conversationFull, message: expect.stringMatching(/new chat/) } });
    expect(await stored(clientMessageId)).toBe(0);
    expect((await socket.emitWithAck("chat:send", { clientMessageId: randomUUID(), text: "hello again" })).ok).toBe(true);
  }, 30_000);
});

describe("the staff transcript is paged (M3)", () => {
  it("serves the newest page with the conversation's counts and a cursor, and the page before by cursor", async () => {
    const socket = await customer("127.0.0.11");
    const first = await socket.emitWithAck("chat:send", { clientMessageId: randomUUID(), text: "hello there" });
    if (!first.ok) throw new Error(first.error.code);
    const { conversationId } = first;
    await nextEvent(socket, "chat:done", (p: { conversationId: string }) => p.conversationId === conversationId);
    const extra = TRANSCRIPT_PAGE_SIZE + 3;
    await pool.query(
      `INSERT INTO "Message" (id, "conversationId", role, text, "createdAt")
       SELECT gen_random_uuid(), $1, 'customer', 'filler ' || i, now() + i * interval '1 millisecond' FROM generate_series(1, $2) i`,
      [conversationId, extra],
    );
    const { rows } = await pool.query<{ id: string }>(`SELECT id FROM "Message" WHERE "conversationId" = $1 ORDER BY "createdAt", id`, [conversationId]);
    const email = `abuse-agent-${randomUUID()}@example.com`;
    await createStaffUser({ email, name: "Ada", password: "correct horse battery staple", role: "agent" });
    const cookie = await staffLogin(server.url, email, "correct horse battery staple");
    const url = `/api/staff/conversations/${conversationId}`;

    const newest = await staffApi<{ conversation: ConversationDetail }>(server.url, url, { cookie });
    expect(newest.status).toBe(200);
    const c = newest.json.conversation;
    expect(c.messages).toHaveLength(TRANSCRIPT_PAGE_SIZE);
    expect(c).toMatchObject({ messageCount: extra + 2, customerMessageCount: extra + 1, olderCursor: expect.any(String) });
    const before = await staffApi<{ conversation: ConversationDetail }>(server.url, `${url}?before=${encodeURIComponent(c.olderCursor!)}`, { cookie });
    expect(before.json.conversation.olderCursor).toBeNull();
    expect([...before.json.conversation.messages, ...c.messages].map((m) => m.id)).toEqual(rows.map((r) => r.id));
    const bad = await staffApi(server.url, `${url}?before=nonsense`, { cookie });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: { code: "invalid_cursor" } });
  }, 30_000);
});
