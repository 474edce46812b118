/**
 * Staff taking conversations over from the bot, live, through the real server: the /staff namespace
 * (session cookie from the real login endpoint), the customer's /chat socket, PostgreSQL and the model.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ErrorCode } from "@/lib/protocol/errors";
import { MAX_MESSAGE_CHARS } from "@/lib/protocol/chat";
import type { ServerToStaffEvents, StaffToServerEvents } from "@/lib/protocol/staff";
import { staffLogin } from "../helpers/staff";
import { connectCustomer, nextEvent, sendAndWait, type ChatClient } from "../helpers/chat-client";

const serverUrl = inject("serverUrl");
process.env.DATABASE_URL = inject("databaseUrl");
const { createStaffUser } = await import("@/lib/auth/session");
const { db } = await import("@/lib/db/client");

type StaffClient = Socket<ServerToStaffEvents, StaffToServerEvents>;
const pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 2 });
const sockets: Socket[] = [];
const PASSWORD = "correct horse battery staple";

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await pool.end();
  await db().$disconnect();
});

async function rows(sql: string, params: unknown[] = []) {
  return (await pool.query(sql, params)).rows;
}

async function staffUser(role: "agent" | "ml" | "admin", name: string) {
  const email = `${name.toLowerCase()}-${randomUUID().slice(0, 8)}@example.com`;
  const user = await createStaffUser({ email, name, role, password: PASSWORD });
  return { ...user, email };
}

const login = (email: string) => staffLogin(serverUrl, email, PASSWORD);

async function logout(cookie: string) {
  const res = await fetch(`${serverUrl}/api/staff/auth/logout`, { method: "POST", headers: { cookie, origin: serverUrl } });
  expect(res.status).toBe(200);
}

function connectStaff(cookie?: string, auth?: Record<string, string>): Promise<StaffClient> {
  const socket: StaffClient = io(`${serverUrl}/staff`, {
    transports: ["websocket"],
    reconnection: false,
    extraHeaders: cookie ? { cookie } : {},
    auth: auth ?? {},
  });
  sockets.push(socket as Socket);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("staff socket: no connect within 15 s")), 15_000);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
  });
}

async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  const err = await p.then(
    () => null,
    (e: Error & { data?: { code: string } }) => e,
  );
  expect(err).not.toBeNull();
  return err?.data?.code;
}

async function customer() {
  const c = await connectCustomer(serverUrl);
  sockets.push(c.socket as Socket);
  return c;
}

/** Every payload of `event` from now on, for checking that something did not happen. */
function record<T>(socket: Socket | ChatClient | StaffClient, event: string): T[] {
  const seen: T[] = [];
  (socket as Socket).on(event, (p: T) => seen.push(p));
  return seen;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A customer with a conversation that is waiting for an agent (the template handoff reply is fast). */
async function waitingConversation() {
  const c = await customer();
  const r = await sendAndWait(c.socket, { clientMessageId: randomUUID(), text: "I want to talk to a real person" });
  if (!r.ack.ok) throw new Error("send failed");
  const [row] = await rows(`SELECT status FROM "Conversation" WHERE id = $1`, [r.ack.conversationId]);
  expect(row.status).toBe("waiting_for_agent");
  return { ...c, conversationId: r.ack.conversationId };
}

let alex: Awaited<ReturnType<typeof staffUser>>;
let blake: Awaited<ReturnType<typeof staffUser>>;
let mlUser: Awaited<ReturnType<typeof staffUser>>;
let alexCookie: string;
let blakeCookie: string;

beforeAll(async () => {
  [alex, blake, mlUser] = await Promise.all([staffUser("agent", "Alex"), staffUser("admin", "Blake"), staffUser("ml", "Morgan")]);
  alexCookie = await login(alex.email);
  blakeCookie = await login(blake.email);
});

describe("the /staff namespace checks the session and the role", () => {
  it("refuses a handshake without a cookie, a customer, an ml-only user, a bogus and a logged-out session", async () => {
    expect(await refusal(connectStaff())).toBe(ErrorCode.unauthenticated);
    const { token } = await customer();
    expect(await refusal(connectStaff(undefined, { customerToken: token }))).toBe(ErrorCode.unauthenticated);
    expect(await refusal(connectStaff(await login(mlUser.email)))).toBe(ErrorCode.forbidden);
    expect(await refusal(connectStaff("loopdesk_staff=not-a-session"))).toBe(ErrorCode.unauthenticated);
    const cookie = await login(alex.email);
    await logout(cookie);
    expect(await refusal(connectStaff(cookie))).toBe(ErrorCode.unauthenticated);
  });

  it("refuses a cross-site browser handshake", async () => {
    const socket: StaffClient = io(`${serverUrl}/staff`, {
      transports: ["websocket"],
      reconnection: false,
      extraHeaders: { cookie: alexCookie, origin: "https://evil.example" },
    });
    sockets.push(socket as Socket);
    const err = await new Promise<Error & { data?: { code: string } }>((resolve) => socket.once("connect_error", resolve));
    expect(err.data?.code).toBe(ErrorCode.forbidden);
  });

  it("admits an agent and an admin", async () => {
    const a = await connectStaff(alexCookie);
    const b = await connectStaff(blakeCookie);
    expect(a.connected && b.connected).toBe(true);
  });

  it("stops every staff event of a socket whose session was logged out, and disconnects it", async () => {
    const { conversationId } = await waitingConversation();
    const cookie = await login(alex.email);
    const events = ["staff:watch", "staff:unwatch", "staff:takeover", "staff:send", "staff:typing", "staff:handback", "staff:close"] as const;
    const open = await Promise.all(events.map(() => connectStaff(cookie)));
    // Each socket is told why (chat:error) and disconnected, by its event's own check or, should it come
    // first, by the server's periodic re-check of every socket (every 30 s).
    const ended = open.map((socket) => nextEvent<{ code: string }>(socket, "chat:error"));
    const disconnected = open.map((socket) => nextEvent(socket, "disconnect"));
    await logout(cookie);
    for (const [i, event] of events.entries()) {
      const socket = open[i]!;
      const payload = event === "staff:send" ? { conversationId, clientMessageId: randomUUID(), text: "hi" } : { conversationId };
      if (socket.connected) {
        const ack = await (socket as Socket)
          .timeout(15_000)
          .emitWithAck(event, payload)
          .catch(() => null); // cut by the periodic re-check before the answer
        if (ack !== null) expect(ack, event).toMatchObject({ ok: false, error: { code: ErrorCode.unauthenticated } });
      }
      expect((await ended[i])!.code, event).toBe(ErrorCode.unauthenticated);
      await disconnected[i];
    }
    const [row] = await rows(`SELECT status FROM "Conversation" WHERE id = $1`, [conversationId]);
    expect(row.status).toBe("waiting_for_agent"); // nothing went through
  });

  it("stops a disabled user's socket", async () => {
    const user = await staffUser("agent", "Dana");
    const socket = await connectStaff(await login(user.email));
    await pool.query(`UPDATE "StaffUser" SET disabled = true WHERE id = $1`, [user.id]);
    const { conversationId } = await waitingConversation();
    const ack = await socket.timeout(5000).emitWithAck("staff:watch", { conversationId });
    expect(ack).toMatchObject({ ok: false, error: { code: ErrorCode.unauthenticated } });
  });
});

describe("watching a live conversation", () => {
  it("receives the customer's messages and the bot's reply as it streams", async () => {
    const c = await customer();
    const first = await sendAndWait(c.socket, { clientMessageId: randomUUID(), text: "hello" });
    if (!first.ack.ok) throw new Error("send failed");
    const conversationId = first.ack.conversationId;

    const staff = await connectStaff(alexCookie);
    const watched = await staff.timeout(15_000).emitWithAck("staff:watch", { conversationId });
    expect(watched).toMatchObject({ ok: true, conversationId, status: "bot", assignedStaff: null, rating: null });

    const tokens = record<{ messageId: string; text: string }>(staff, "chat:token");
    const customerMessage = nextEvent<{ role: string; text: string }>(staff, "chat:message", (m) => m.role === "customer");
    const done = nextEvent<{ messageId: string; text: string }>(staff, "chat:done", (d) => d.messageId !== first.messageId);
    const typing = record<{ conversationId: string }>(staff, "chat:customer-typing");
    c.socket.emit("chat:typing", { conversationId });
    const reply = await sendAndWait(c.socket, { conversationId, clientMessageId: randomUUID(), text: "How long does standard shipping take?" });
    expect((await customerMessage).text).toBe("How long does standard shipping take?");
    const d = await done;
    expect(d.text).toBe(reply.text);
    const own = tokens.filter((t) => t.messageId === d.messageId);
    expect(own.length).toBeGreaterThanOrEqual(1);
    expect(own.map((t) => t.text).join("")).toBe(d.text);
    expect(typing).toEqual([{ conversationId }]);

    // After unwatching, nothing more arrives.
    expect(await staff.timeout(15_000).emitWithAck("staff:unwatch", { conversationId })).toEqual({ ok: true, conversationId });
    const after = record(staff, "chat:message");
    await sendAndWait(c.socket, { conversationId, clientMessageId: randomUUID(), text: "thanks" });
    expect(after).toHaveLength(0);
  });

  it("gets inbox nudges without watching", async () => {
    const staff = await connectStaff(alexCookie);
    const nudges = record<{ conversationId: string }>(staff, "inbox:changed");
    const { conversationId } = await waitingConversation();
    await expect.poll(() => nudges.map((n) => n.conversationId)).toContain(conversationId);
  });
});

describe("taking over, chatting, handing back, closing and rating", () => {
  let c: Awaited<ReturnType<typeof waitingConversation>>;
  let agent: StaffClient;
  let other: StaffClient;

  beforeAll(async () => {
    c = await waitingConversation();
    agent = await connectStaff(alexCookie);
    other = await connectStaff(blakeCookie);
    await other.timeout(15_000).emitWithAck("staff:watch", { conversationId: c.conversationId });
  });

  it("take over: status agent, the customer is told who joined, the bot goes silent", async () => {
    const { conversationId } = c;
    const joined = nextEvent<{ role: string; text: string }>(c.socket, "chat:message", (m) => m.role === "system");
    const status = nextEvent<{ status: string }>(c.socket, "chat:status");
    const otherSees = nextEvent<{ status: string; assignedStaff: { name: string } | null }>(other, "staff:conversation");
    const ack = await agent.timeout(15_000).emitWithAck("staff:takeover", { conversationId });
    expect(ack).toMatchObject({ ok: true, conversationId, status: "agent", assignedStaff: { id: alex.id, name: "Alex" } });
    expect((await joined).text).toBe("Alex joined the chat");
    expect((await status).status).toBe("agent");
    expect(await otherSees).toMatchObject({ status: "agent", assignedStaff: { name: "Alex" } });

    const [row] = await rows(`SELECT status, "assignedStaffId", "waitingSince" FROM "Conversation" WHERE id = $1`, [conversationId]);
    expect(row).toEqual({ status: "agent", assignedStaffId: alex.id, waitingSince: null });
    const [system] = await rows(`SELECT text, "authorStaffId" FROM "Message" WHERE "conversationId" = $1 AND role = 'system'`, [conversationId]);
    expect(system).toEqual({ text: "Alex joined the chat", authorStaffId: alex.id });

    // Taking over one's own conversation again is harmless; another agent is refused.
    expect(await agent.timeout(15_000).emitWithAck("staff:takeover", { conversationId })).toMatchObject({ ok: true, status: "agent" });
    expect(await other.timeout(15_000).emitWithAck("staff:takeover", { conversationId })).toMatchObject({ ok: false, error: { code: ErrorCode.alreadyAssigned } });

    // The customer's next message reaches the agent and gets no bot reply.
    const botEvents = record(c.socket, "chat:typing");
    const atAgent = nextEvent<{ role: string; text: string }>(agent, "chat:message", (m) => m.role === "customer");
    const sent = await c.socket.timeout(15_000).emitWithAck("chat:send", { conversationId, clientMessageId: randomUUID(), text: "Is anyone there?" });
    expect(sent.ok).toBe(true);
    expect((await atAgent).text).toBe("Is anyone there?");
    // Storing the classification is the last step of a turn in a conversation staff own (lib/chat/turn.ts).
    if (!sent.ok) return;
    await expect.poll(async () => (await rows(`SELECT "classifierVersion" FROM "Message" WHERE id = $1`, [sent.messageId]))[0].classifierVersion, { timeout: 60_000 }).not.toBeNull();
    expect(botEvents).toHaveLength(0);
    const bots = await rows(`SELECT count(*)::int AS n FROM "Message" WHERE "conversationId" = $1 AND role = 'bot'`, [conversationId]);
    expect(bots[0].n).toBe(1); // only the handoff template from before
  });

  it("the agent's messages reach the customer, stored once per clientMessageId", async () => {
    const { conversationId } = c;
    const clientMessageId = randomUUID();
    const arrived = nextEvent<{ role: string; text: string; id: string }>(c.socket, "chat:message", (m) => m.role === "agent");
    const ack = await agent.timeout(15_000).emitWithAck("staff:send", { conversationId, clientMessageId, text: "  Hi, I'm Alex. How can I help?  " });
    expect(ack.ok).toBe(true);
    if (!ack.ok) return;
    const m = await arrived;
    expect(m).toMatchObject({ id: ack.messageId, text: "Hi, I'm Alex. How can I help?" });

    expect(await agent.timeout(15_000).emitWithAck("staff:send", { conversationId, clientMessageId, text: "Hi, I'm Alex. How can I help?" })).toEqual(ack);
    const stored = await rows(`SELECT text, "authorStaffId" FROM "Message" WHERE "conversationId" = $1 AND role = 'agent'`, [conversationId]);
    expect(stored).toEqual([{ text: "Hi, I'm Alex. How can I help?", authorStaffId: alex.id }]);

    // Only the assigned agent may write.
    expect(await other.timeout(15_000).emitWithAck("staff:send", { conversationId, clientMessageId: randomUUID(), text: "me too" })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.notAssigned },
    });
  });

  it("typing indicators go both ways, throttled", async () => {
    const { conversationId } = c;
    const atCustomer = record<{ conversationId: string; name: string }>(c.socket, "chat:agent-typing");
    for (let i = 0; i < 5; i++) agent.emit("staff:typing", { conversationId });
    await expect.poll(() => atCustomer.length).toBe(1);
    // The server handles the agent's events in order and the customer's socket delivers in order: once
    // an agent message sent after the five reaches the customer, any typing they caused has too.
    const after = nextEvent<{ role: string }>(c.socket, "chat:message", (m) => m.role === "agent");
    expect(await agent.timeout(15_000).emitWithAck("staff:send", { conversationId, clientMessageId: randomUUID(), text: "One moment, please." })).toMatchObject({ ok: true });
    await after;
    expect(atCustomer).toEqual([{ conversationId, name: "Alex" }]);

    const atAgent = record<{ conversationId: string }>(agent, "chat:customer-typing");
    // Each typing is answered once handled (relayed or throttled); the agent's own answer after that
    // comes after anything relayed to it.
    const typing = () => c.socket.timeout(15_000).emitWithAck("chat:typing", { conversationId });
    expect(await Promise.all([typing(), typing(), typing(), typing(), typing()])).toEqual(Array(5).fill({ ok: true, conversationId }));
    await agent.timeout(15_000).emitWithAck("staff:watch", { conversationId });
    expect(atAgent).toEqual([{ conversationId }]);
    await sleep(1100); // past the 1 s throttle window: the next one is relayed again
    await typing();
    await agent.timeout(15_000).emitWithAck("staff:watch", { conversationId });
    expect(atAgent).toHaveLength(2);

    // Another agent's typing is not shown to the customer (only to staff watching: assignment.test.ts).
    expect(await other.timeout(15_000).emitWithAck("staff:typing", { conversationId })).toEqual({ ok: true, conversationId });
    // Typing for someone else's conversation reaches no one.
    const stranger = await customer();
    expect(await stranger.socket.timeout(15_000).emitWithAck("chat:typing", { conversationId })).toMatchObject({ ok: false, error: { code: ErrorCode.unknownConversation } });
    // Answered, so relayed (or not) already; the agent's own answer comes after anything sent to it before.
    await agent.timeout(15_000).emitWithAck("staff:watch", { conversationId });
    expect(atAgent).toHaveLength(2);
  });

  it("hand back: the bot answers again", async () => {
    const { conversationId } = c;
    const told = nextEvent<{ role: string; text: string }>(c.socket, "chat:message", (m) => m.role === "system");
    const ack = await agent.timeout(15_000).emitWithAck("staff:handback", { conversationId });
    expect(ack).toMatchObject({ ok: true, status: "bot", assignedStaff: null });
    expect((await told).text).toBe("Alex handed you back to our assistant");
    const reply = await sendAndWait(c.socket, { conversationId, clientMessageId: randomUUID(), text: "Which payment methods do you accept?" });
    expect(reply.text.length).toBeGreaterThan(0);
    // Sending as an agent is over.
    expect(await agent.timeout(15_000).emitWithAck("staff:send", { conversationId, clientMessageId: randomUUID(), text: "hello?" })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.notAssigned },
    });
  });

  it("taking over stops a bot reply in progress", async () => {
    const { conversationId } = c;
    // Taken over as soon as the model starts, before its first sentence is checked and sent.
    const took = nextEvent<{ queued: boolean }>(c.socket, "chat:typing", (p) => !p.queued).then(() =>
      agent.timeout(15_000).emitWithAck("staff:takeover", { conversationId }),
    );
    const reply = await sendAndWait(c.socket, {
      conversationId,
      clientMessageId: randomUUID(),
      text: "Please describe in detail every step of returning a damaged kettle.",
    });
    expect(await took).toMatchObject({ ok: true, status: "agent" });
    expect(reply.stopped).toBe(true);
    const [row] = await rows(`SELECT "replyStatus" FROM "Message" WHERE id = $1`, [reply.messageId]);
    expect(row.replyStatus).toBe("stopped");
  });

  it("close: the customer is asked for a rating, which is stored once", async () => {
    const { conversationId } = c;
    const status = nextEvent<{ status: string }>(c.socket, "chat:status", (s) => s.status === "closed");
    const told = nextEvent<{ role: string; text: string }>(c.socket, "chat:message", (m) => m.role === "system");
    const ack = await agent.timeout(15_000).emitWithAck("staff:close", { conversationId });
    expect(ack).toMatchObject({ ok: true, status: "closed", rating: null });
    await status;
    expect((await told).text).toBe("Alex closed the chat");
    const [row] = await rows(`SELECT status, "closedAt" FROM "Conversation" WHERE id = $1`, [conversationId]);
    expect(row.status).toBe("closed");
    expect(row.closedAt).toBeInstanceOf(Date);

    // Closed means closed: no more messages, no take over.
    const send = await c.socket.timeout(15_000).emitWithAck("chat:send", { conversationId, clientMessageId: randomUUID(), text: "one more thing" });
    expect(send).toMatchObject({ ok: false, error: { code: ErrorCode.conversationClosed } });
    expect(await other.timeout(15_000).emitWithAck("staff:takeover", { conversationId })).toMatchObject({ ok: false, error: { code: ErrorCode.conversationClosed } });
    expect(await agent.timeout(15_000).emitWithAck("staff:close", { conversationId })).toMatchObject({ ok: false, error: { code: ErrorCode.conversationClosed } });

    const history = await c.socket.timeout(15_000).emitWithAck("chat:history", { conversationId });
    expect(history).toMatchObject({ ok: true, status: "closed", rating: null });

    const staffSees = nextEvent<{ rating: number; comment: string | null }>(agent, "chat:rated");
    const rated = await c.socket.timeout(15_000).emitWithAck("chat:rate", { conversationId, rating: 4, comment: "  Quick and friendly <b>thanks</b>  " });
    expect(rated).toEqual({ ok: true, conversationId, rating: 4 });
    expect(await staffSees).toEqual({ conversationId, rating: 4, comment: "Quick and friendly <b>thanks</b>" });
    const again = await c.socket.timeout(15_000).emitWithAck("chat:rate", { conversationId, rating: 1 });
    expect(again).toMatchObject({ ok: false, error: { code: ErrorCode.alreadyRated } });
    const [stored] = await rows(`SELECT rating, "ratingComment" FROM "Conversation" WHERE id = $1`, [conversationId]);
    expect(stored).toEqual({ rating: 4, ratingComment: "Quick and friendly <b>thanks</b>" });
    expect(await c.socket.timeout(15_000).emitWithAck("chat:history", { conversationId })).toMatchObject({ ok: true, status: "closed", rating: 4 });
    expect(await agent.timeout(15_000).emitWithAck("staff:watch", { conversationId })).toMatchObject({
      ok: true,
      status: "closed",
      rating: 4,
      ratingComment: "Quick and friendly <b>thanks</b>",
    });
  });

  it("a rating is refused for an open conversation and for another customer's", async () => {
    const open = await waitingConversation();
    expect(await open.socket.timeout(15_000).emitWithAck("chat:rate", { conversationId: open.conversationId, rating: 5 })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.notClosed },
    });
    // c's conversation is closed but not theirs.
    const other2 = await waitingConversation();
    await agent.timeout(15_000).emitWithAck("staff:close", { conversationId: other2.conversationId });
    expect(await open.socket.timeout(15_000).emitWithAck("chat:rate", { conversationId: other2.conversationId, rating: 5 })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.unknownConversation },
    });
    const [row] = await rows(`SELECT rating FROM "Conversation" WHERE id = $1`, [other2.conversationId]);
    expect(row.rating).toBeNull();
  });
});

describe("two agents racing to take over", () => {
  it("exactly one wins; the other gets already_assigned", async () => {
    const { conversationId, socket } = await waitingConversation();
    const systemMessages = record<{ role: string }>(socket, "chat:message");
    const [a, b] = await Promise.all([connectStaff(alexCookie), connectStaff(blakeCookie)]);
    const results = await Promise.all([
      a.timeout(15_000).emitWithAck("staff:takeover", { conversationId }),
      b.timeout(15_000).emitWithAck("staff:takeover", { conversationId }),
    ]);
    const winners = results.filter((r) => r.ok);
    const losers = results.filter((r) => !r.ok);
    expect(winners).toHaveLength(1);
    expect(losers).toMatchObject([{ ok: false, error: { code: ErrorCode.alreadyAssigned } }]);
    const joined = await rows(`SELECT text FROM "Message" WHERE "conversationId" = $1 AND role = 'system'`, [conversationId]);
    expect(joined).toHaveLength(1);
    // Both take-overs are answered, so their messages are sent; the customer's own answer comes after them.
    await socket.timeout(15_000).emitWithAck("chat:history", { conversationId });
    expect(systemMessages.filter((m) => m.role === "system")).toHaveLength(1);
  });
});

describe("bad staff payloads get stable codes", () => {
  let staff: StaffClient;
  let conversationId: string;
  beforeAll(async () => {
    staff = await connectStaff(alexCookie);
    ({ conversationId } = await waitingConversation());
    await staff.timeout(15_000).emitWithAck("staff:takeover", { conversationId });
  });

  const cases: [string, string, () => unknown, string][] = [
    ["watch without an id", "staff:watch", () => ({}), ErrorCode.invalidPayload],
    ["watch with a malformed id", "staff:watch", () => ({ conversationId: "1 OR 1=1" }), ErrorCode.invalidPayload],
    ["watch an unknown conversation", "staff:watch", () => ({ conversationId: randomUUID() }), ErrorCode.unknownConversation],
    ["take over with a string payload", "staff:takeover", () => "hello", ErrorCode.invalidPayload],
    ["take over an unknown conversation", "staff:takeover", () => ({ conversationId: randomUUID() }), ErrorCode.unknownConversation],
    ["send without a clientMessageId", "staff:send", () => ({ conversationId, text: "hi" }), ErrorCode.invalidPayload],
    ["send a non-string text", "staff:send", () => ({ conversationId, clientMessageId: randomUUID(), text: { $ne: 1 } }), ErrorCode.invalidPayload],
    ["send an empty text", "staff:send", () => ({ conversationId, clientMessageId: randomUUID(), text: "  \n " }), ErrorCode.emptyText],
    ["send too long a text", "staff:send", () => ({ conversationId, clientMessageId: randomUUID(), text: "a".repeat(MAX_MESSAGE_CHARS + 1) }), ErrorCode.textTooLong],
    ["send to an unknown conversation", "staff:send", () => ({ conversationId: randomUUID(), clientMessageId: randomUUID(), text: "hi" }), ErrorCode.unknownConversation],
    ["hand back null", "staff:handback", () => null, ErrorCode.invalidPayload],
    ["close an array", "staff:close", () => [conversationId], ErrorCode.invalidPayload],
    ["typing with a number id", "staff:typing", () => ({ conversationId: 42 }), ErrorCode.invalidPayload],
  ];
  it.each(cases)("%s", async (_name, event, payload, code) => {
    const ack = (await (staff as Socket).timeout(5000).emitWithAck(event, payload())) as { ok: boolean; error?: { code: string } };
    expect(ack).toMatchObject({ ok: false, error: { code } });
    expect(staff.connected).toBe(true);
  });

  it("bad ratings are refused as invalid_payload", async () => {
    const c = await customer();
    for (const payload of [
      { conversationId, rating: 0 },
      { conversationId, rating: 6 },
      { conversationId, rating: 3.5 },
      { conversationId, rating: "4" },
      { conversationId },
      { conversationId, rating: 4, comment: "x".repeat(1001) },
      { conversationId: "nope", rating: 4 },
    ]) {
      const ack = await c.socket.timeout(15_000).emitWithAck("chat:rate", payload as never);
      expect(ack, JSON.stringify(payload).slice(0, 80)).toMatchObject({ ok: false, error: { code: ErrorCode.invalidPayload } });
    }
  });

  it("a staff message's clientMessageId cannot reach a customer's message", async () => {
    // The customer's own clientMessageIds live apart from the agent's.
    const [m] = await rows(`SELECT "clientMessageId" FROM "Message" WHERE "conversationId" = $1 AND role = 'customer'`, [conversationId]);
    const ack = await staff.timeout(15_000).emitWithAck("staff:send", { conversationId, clientMessageId: m.clientMessageId, text: "hello" });
    expect(ack.ok).toBe(true);
    const agentRows = await rows(`SELECT text FROM "Message" WHERE "conversationId" = $1 AND role = 'agent'`, [conversationId]);
    expect(agentRows).toEqual([{ text: "hello" }]);
  });
});
