/**
 * Two server instances on the same PostgreSQL and Redis (socket.io's Redis adapter): a customer with a
 * tab on each sees, on instance B, what they send and what the bot answers on instance A, Stop pressed
 * on B stops the reply A is generating, and their rate limit is counted across both, under this run's
 * own Redis key prefix. Needs Redis at REDIS_URL (default redis://127.0.0.1:6379).
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ErrorCode } from "@/lib/protocol/errors";
import type { ChatMessage } from "@/lib/protocol/chat";
import { connectCustomer, nextEvent, type ChatClient } from "../helpers/chat-client";
import { startServer, type RunningServer } from "../helpers/server";

const pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 1 });

// Keys and channels of this run only: another run on the same Redis shares neither counters nor rooms.
const REDIS_KEY_PREFIX = `loopdesk-test-${randomUUID()}`;
const env = {
  DATABASE_URL: inject("databaseUrl"),
  LOOPDESK_MODELS_DIR: inject("modelsDir"),
  REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  REDIS_KEY_PREFIX,
  LM_MAX_NEW_TOKENS: "24",
  CUSTOMER_TOKEN_SECRET: "multi-secret-multi-secret-multi-secret-0",
  RATE_LIMIT_MESSAGES_PER_CUSTOMER: "3",
  // Limits per address are kept in Redis too; loopback is every test's address, so these are raised.
  RATE_LIMIT_MESSAGES_PER_IP: "10000",
  RATE_LIMIT_CONNECTIONS_PER_IP: "10000",
};
const servers: RunningServer[] = [];
const sockets: ChatClient[] = [];

async function customer(server: RunningServer, token?: string) {
  const c = await connectCustomer(server.url, token);
  sockets.push(c.socket);
  return c;
}

beforeAll(async () => {
  servers.push(...(await Promise.all([startServer(env), startServer(env)])));
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await Promise.all(servers.map((s) => s.stop()));
  await pool.end();
});

describe("two instances behind one Redis", () => {
  it("a message sent on instance A and its reply reach the customer's tab on instance B", async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    const tabA = await customer(a);
    const tabB = await customer(b, tabA.token);
    const clientMessageId = randomUUID();
    const echoed = nextEvent<ChatMessage>(tabB.socket, "chat:message", (m) => m.clientMessageId === clientMessageId, 30_000);
    const ack = await tabA.socket.emitWithAck("chat:send", { clientMessageId, text: "How long does express shipping take to Germany?" });
    if (!ack.ok) throw new Error(ack.error.code);
    expect(await echoed).toMatchObject({ id: ack.messageId, role: "customer", conversationId: ack.conversationId });
    const done = await nextEvent<{ conversationId: string; text: string }>(tabB.socket, "chat:done", (d) => d.conversationId === ack.conversationId);
    expect(done.text.length).toBeGreaterThan(0);
  });

  it("Stop pressed on instance B stops the reply instance A generates (serverSideEmit)", async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    const tabA = await customer(a);
    const tabB = await customer(b, tabA.token);
    // One reply at a time per customer: the second message's reply waits in A's queue while the first is
    // generated (classifying and retrieving for the second take a fraction of generating the first), so
    // Stop, pressed on B as soon as B hears of it, reaches A before A has generated any of it.
    const first = await tabA.socket.emitWithAck("chat:send", { clientMessageId: randomUUID(), text: "How long does express shipping take to Germany?" });
    if (!first.ok) throw new Error(first.error.code);
    const queued = nextEvent<{ messageId: string; replyToId: string; queued: boolean }>(tabB.socket, "chat:typing", (p) => p.replyToId !== first.messageId && p.queued);
    const second = await tabA.socket.emitWithAck("chat:send", { conversationId: first.conversationId, clientMessageId: randomUUID(), text: "What is the warranty on your coffee grinders?" });
    if (!second.ok) throw new Error(second.error.code);
    const reply = await queued;
    const done = nextEvent<{ messageId: string; stopped: boolean }>(tabB.socket, "chat:done", (d) => d.messageId === reply.messageId);
    expect(await tabB.socket.emitWithAck("chat:stop", { messageId: reply.messageId })).toEqual({ ok: true, messageId: reply.messageId });
    expect((await done).stopped).toBe(true);
    const [row] = (await pool.query(`SELECT "replyStatus" FROM "Message" WHERE id = $1`, [reply.messageId])).rows;
    expect(row.replyStatus).toBe("stopped");
  });

  it("counts a customer's messages across instances, under this run's Redis key prefix", async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    const tabA = await customer(a);
    const tabB = await customer(b, tabA.token);
    const send = (tab: ChatClient) => tab.emitWithAck("chat:send", { clientMessageId: randomUUID(), text: "hello" });
    expect((await send(tabA.socket)).ok).toBe(true);
    expect((await send(tabB.socket)).ok).toBe(true);
    expect((await send(tabA.socket)).ok).toBe(true);
    expect(await send(tabB.socket)).toMatchObject({ ok: false, error: { code: ErrorCode.rateLimited } });
    const redis = createClient({ url: env.REDIS_URL });
    await redis.connect();
    try {
      expect(await redis.keys(`${REDIS_KEY_PREFIX}:rl:msg-customer:*`)).not.toEqual([]);
    } finally {
      await redis.quit();
    }
  });
});
