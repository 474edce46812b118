/**
 * Two server instances on the same PostgreSQL and Redis (socket.io's Redis adapter): a customer with a
 * tab on each sees, on instance B, what they send and what the bot answers on instance A, and their
 * rate limit is counted across both. Needs Redis at REDIS_URL (default redis://127.0.0.1:6379).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ErrorCode } from "@/lib/protocol/errors";
import type { ChatMessage } from "@/lib/protocol/chat";
import { connectCustomer, nextEvent, type ChatClient } from "../helpers/chat-client";
import { startServer, type RunningServer } from "../helpers/server";

const env = {
  DATABASE_URL: inject("databaseUrl"),
  LOOPDESK_MODELS_DIR: inject("modelsDir"),
  REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  LM_MAX_NEW_TOKENS: "8",
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

  it("counts a customer's messages across instances", async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    const tabA = await customer(a);
    const tabB = await customer(b, tabA.token);
    const send = (tab: ChatClient) => tab.emitWithAck("chat:send", { clientMessageId: randomUUID(), text: "hello" });
    expect((await send(tabA.socket)).ok).toBe(true);
    expect((await send(tabB.socket)).ok).toBe(true);
    expect((await send(tabA.socket)).ok).toBe(true);
    expect(await send(tabB.socket)).toMatchObject({ ok: false, error: { code: ErrorCode.rateLimited } });
  });
});
