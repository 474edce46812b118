/**
 * Abuse limits through the real server: message, connection and staff-login rate limits (a server of
 * its own with low limits) and the cap of one generation at a time per customer (the shared server,
 * default cap).
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ErrorCode } from "@/lib/protocol/errors";
import { connectCustomer, type ChatClient } from "../helpers/chat-client";
import { startServer, type RunningServer } from "../helpers/server";

const databaseUrl = inject("databaseUrl");
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const sockets: ChatClient[] = [];

async function customer(url: string) {
  const c = await connectCustomer(url);
  sockets.push(c.socket);
  return c.socket;
}

const send = (socket: ChatClient, text = "hello there") => socket.emitWithAck("chat:send", { clientMessageId: randomUUID(), text });

async function storedWithClientId(clientMessageId: string): Promise<number> {
  const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "Message" WHERE "clientMessageId" = $1`, [clientMessageId]);
  return rows[0].n;
}

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await pool.end();
});

describe("rate limits", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      DATABASE_URL: databaseUrl,
      LOOPDESK_MODELS_DIR: inject("modelsDir"),
      LM_MAX_NEW_TOKENS: "4",
      CUSTOMER_TOKEN_SECRET: "limits-secret-limits-secret-limits-0123",
      RATE_LIMIT_MESSAGES_PER_CUSTOMER: "2",
      RATE_LIMIT_MESSAGES_PER_IP: "3",
      RATE_LIMIT_CONNECTIONS_PER_IP: "4",
      LOGIN_ATTEMPTS_PER_ADDRESS: "3",
    });
  });
  afterAll(() => server?.stop());

  it("refuses a customer's messages beyond their limit with rate_limited, stores nothing, keeps the connection", async () => {
    const socket = await customer(server.url); // connection 1
    const first = await send(socket);
    expect(first.ok).toBe(true);
    expect((await send(socket)).ok).toBe(true);

    const clientMessageId = randomUUID();
    const refused = await socket.emitWithAck("chat:send", { clientMessageId, text: "one more" });
    expect(refused).toMatchObject({ ok: false, error: { code: ErrorCode.rateLimited, message: expect.stringMatching(/too quickly/) } });
    if (refused.ok) return;
    expect(refused.error.retryAfterMs).toBeGreaterThan(0);
    expect(refused.error.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await storedWithClientId(clientMessageId)).toBe(0);

    // Reading is not limited: the connection still answers.
    const history = await socket.emitWithAck("chat:history", { conversationId: first.ok ? first.conversationId : "" });
    expect(history.ok).toBe(true);
  });

  it("refuses messages beyond the per-address limit, whichever customer sends them", async () => {
    const socket = await customer(server.url); // connection 2; this address has sent 2 of its 3
    expect((await send(socket)).ok).toBe(true);
    const clientMessageId = randomUUID();
    const refused = await socket.emitWithAck("chat:send", { clientMessageId, text: "and another" });
    expect(refused).toMatchObject({ ok: false, error: { code: ErrorCode.rateLimited, message: expect.stringMatching(/network/) } });
    expect(await storedWithClientId(clientMessageId)).toBe(0);
  });

  it("refuses connections beyond the per-address limit at connect with rate_limited", async () => {
    await customer(server.url); // 3
    await customer(server.url); // 4
    const err = await connectCustomer(server.url).then(
      () => null,
      (e: Error & { data?: { code: string; retryAfterMs?: number } }) => e,
    );
    expect(err?.data).toMatchObject({ code: ErrorCode.rateLimited, retryAfterMs: expect.any(Number) });
    // The server is unharmed.
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
  });
  it("throttles logins per address with 429 rate_limited, before any password is checked", async () => {
    const login = (email: string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/api/staff/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: server.url, ...headers },
        body: JSON.stringify({ email, password: "a guessed password" }),
      });
    const emails = [1, 2, 3, 4, 5].map((i) => `guess-${i}-${randomUUID()}@example.com`);
    for (const email of emails.slice(0, 3)) expect((await login(email)).status).toBe(401);
    // Whatever email it tries next, and whatever address it claims to forward for.
    for (const [email, headers] of [[emails[3]!, {}], [emails[4]!, { "x-forwarded-for": "203.0.113.9" }]] as const) {
      const refused = await login(email, headers);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await refused.json()).toEqual({ error: { code: "rate_limited", message: expect.stringMatching(/^Too many login attempts/) } });
    }
    // Only the three checked attempts left audit rows.
    const { rows } = await pool.query(`SELECT subject FROM "AuditLog" WHERE action = 'staff.login_failed' AND subject = ANY($1)`, [emails]);
    expect(rows.map((r) => r.subject).sort()).toEqual(emails.slice(0, 3).sort());
  });
});

describe("one generation at a time per customer", () => {
  it("stores and acknowledges a second message at once, and answers it after the first reply", async () => {
    const socket = await customer(inject("serverUrl"));
    // What the customer sees, in order: a reply starts generating ("typing", not queued), then streams
    // tokens (consecutive tokens of one reply are noted once).
    const events: string[] = [];
    const note = (event: string) => events.at(-1) !== event && events.push(event);
    const firstTyping = new Map<string, boolean>();
    socket.on("chat:typing", (p) => {
      if (!firstTyping.has(p.messageId)) firstTyping.set(p.messageId, p.queued);
      if (!p.queued) note(`start ${p.messageId}`);
    });
    socket.on("chat:token", (p) => note(`tokens ${p.messageId}`));
    const bothDone = new Promise<void>((resolve) => {
      let n = 0;
      socket.on("chat:done", () => ++n === 2 && resolve());
    });

    const first = await send(socket, "How long does express shipping take to Germany?");
    if (!first.ok) throw new Error(first.error.code);
    const second = await socket.emitWithAck("chat:send", {
      conversationId: first.conversationId,
      clientMessageId: randomUUID(),
      text: "How long does standard shipping take?",
    });
    expect(second.ok).toBe(true); // acknowledged (and stored) while the first reply is generating
    if (!second.ok) return;
    await bothDone;

    const { rows } = await pool.query<{ id: string; replyToId: string; modelVersion: string }>(
      `SELECT id, "replyToId", "modelVersion" FROM "Message" WHERE "conversationId" = $1 AND role = 'bot' ORDER BY "createdAt"`,
      [first.conversationId],
    );
    // Both replies came from the language model (template replies never queue).
    expect(rows.map((r) => r.replyToId).sort()).toEqual([first.messageId, second.messageId].sort());
    for (const r of rows) expect(r.modelVersion).not.toBe("template");
    // One reply is generated, then the other, which waited queued meanwhile: they never overlap.
    const a = events[0]!.replace("start ", "");
    const b = rows.map((r) => r.id).find((id) => id !== a)!;
    expect(events).toEqual([`start ${a}`, `tokens ${a}`, `start ${b}`, `tokens ${b}`]);
    expect(firstTyping.get(b)).toBe(true);
  });
});
