/**
 * The serving path through its real parts: a socket.io client, the running server, PostgreSQL and
 * the ONNX language model.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ErrorCode } from "@/lib/protocol/errors";
import { MAX_MESSAGE_CHARS } from "@/lib/protocol/chat";
import { connectCustomer, nextEvent, sendAndWait, type ChatClient } from "../helpers/chat-client";

const serverUrl = inject("serverUrl");
const pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 2 });
const sockets: ChatClient[] = [];

async function customer(token?: string) {
  const c = await connectCustomer(serverUrl, token);
  sockets.push(c.socket);
  return c;
}

async function rows(sql: string, params: unknown[] = []) {
  return (await pool.query(sql, params)).rows;
}

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await pool.end();
});

describe("health", () => {
  it("reports the database and the loaded language model", async () => {
    const res = await fetch(`${serverUrl}/api/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ status: "ok", db: "ok", models: { lm: { id: "smollm2-135m-instruct" } } });
    expect(body.models.lm.version).toMatch(/^smollm2-135m-instruct@/);
  });
});

describe("a customer chat", () => {
  let socket: ChatClient;
  let token: string;
  beforeAll(async () => ({ socket, token } = await customer()));

  it("streams a reply sentence by sentence (each checked before it is sent) and stores both messages", async () => {
    const clientMessageId = randomUUID();
    const reply = await sendAndWait(socket, { clientMessageId, text: "Hi! How long does standard shipping take?" });
    expect(reply.ack.ok).toBe(true);
    if (!reply.ack.ok) return;
    expect(reply.typing[0]).toBe(true); // queued first, then generating
    expect(reply.typing).toContain(false);
    expect(reply.tokens.length).toBeGreaterThanOrEqual(1);
    for (const piece of reply.tokens) expect(piece).toMatch(/[.!?]["')\]]*$/); // whole sentences only
    expect(reply.tokens.join("")).toBe(reply.text);
    expect(reply.text.length).toBeGreaterThan(0);
    expect(reply.stopped).toBe(false);

    const stored = await rows(
      `SELECT role, text, "clientMessageId", "replyToId", "replyStatus", "modelVersion", "timeToFirstTokenMs", "tokenCount", "generationMs"
       FROM "Message" WHERE "conversationId" = $1 ORDER BY "createdAt"`,
      [reply.ack.conversationId],
    );
    expect(stored).toHaveLength(2);
    expect(stored[0]).toMatchObject({ role: "customer", text: "Hi! How long does standard shipping take?", clientMessageId });
    expect(stored[1]).toMatchObject({ role: "bot", text: reply.text, replyToId: reply.ack.messageId, replyStatus: "complete" });
    expect(stored[1].modelVersion).toMatch(/^smollm2-135m-instruct@/);
    expect(stored[1].timeToFirstTokenMs).toBeGreaterThan(0);
    expect(stored[1].tokenCount).toBeGreaterThanOrEqual(reply.tokens.length);
    expect(stored[1].generationMs).toBeGreaterThanOrEqual(stored[1].timeToFirstTokenMs);
  });

  it("stores a resent message once and does not answer it twice", async () => {
    const first = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "hello" });
    if (!first.ack.ok) throw new Error("send failed");
    const conversationId = first.ack.conversationId;
    const clientMessageId = randomUUID();
    const original = await sendAndWait(socket, { conversationId, clientMessageId, text: "Which payment methods do you accept?" });
    const again = await socket.emitWithAck("chat:send", { conversationId, clientMessageId, text: "Which payment methods do you accept?" });
    expect(again).toEqual(original.ack);
    const count = await rows(`SELECT role, count(*)::int AS n FROM "Message" WHERE "conversationId" = $1 GROUP BY role ORDER BY role`, [conversationId]);
    expect(count).toEqual([
      { role: "customer", n: 2 },
      { role: "bot", n: 2 },
    ]);
  });

  it("a resent first message (its ack lost) lands in the same conversation", async () => {
    const clientMessageId = randomUUID();
    const a = await sendAndWait(socket, { clientMessageId, text: "hi there" });
    const b = await socket.emitWithAck("chat:send", { clientMessageId, text: "hi there" });
    expect(b).toEqual(a.ack);
  });

  it("a customer's clientMessageId shaped like a bot reply's (reply:<id>) is a new message, not the bot's", async () => {
    const first = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "Do you ship to Norway?" });
    if (!first.ack.ok) throw new Error("send failed");
    const { conversationId, messageId } = first.ack;
    const botRow = `SELECT * FROM "Message" WHERE "replyToId" = $1`;
    const [botBefore] = await rows(botRow, [messageId]);
    expect(botBefore.clientMessageId).toBe(`reply:${messageId}`);

    const clientMessageId = `reply:${messageId}`;
    const second = await sendAndWait(socket, { conversationId, clientMessageId, text: "And to Iceland?" });
    if (!second.ack.ok) throw new Error(second.ack.error.code);
    expect(second.ack.messageId).not.toBe(botBefore.id);
    expect(second.text.length).toBeGreaterThan(0); // answered as a message of its own
    const [stored] = await rows(`SELECT role, text FROM "Message" WHERE id = $1`, [second.ack.messageId]);
    expect(stored).toEqual({ role: "customer", text: "And to Iceland?" });
    const [reply] = await rows(`SELECT role, "replyToId" FROM "Message" WHERE id = $1`, [second.messageId]);
    expect(reply).toEqual({ role: "bot", replyToId: second.ack.messageId });
    expect((await rows(botRow, [messageId]))[0]).toEqual(botBefore); // the bot's reply row is untouched

    // The customer's own id comes back as they sent it.
    const history = await socket.emitWithAck("chat:history", { conversationId });
    if (!history.ok) throw new Error(history.error.code);
    const ownId = second.ack.messageId;
    expect(history.messages.find((m) => m.id === ownId)?.clientMessageId).toBe(clientMessageId);
  });

  it("Stop ends the reply early and keeps the partial text, marked stopped", async () => {
    // Stopped as soon as the model starts: before its first sentence is checked and sent.
    const generating = nextEvent<{ messageId: string; queued: boolean }>(socket, "chat:typing", (p) => !p.queued);
    void generating.then(({ messageId }) => socket.emit("chat:stop", { messageId }));
    const reply = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "Please describe in detail every step of returning a damaged kettle." });
    expect(reply.stopped).toBe(true);
    const [row] = await rows(`SELECT text, "replyStatus", "tokenCount" FROM "Message" WHERE id = $1`, [reply.messageId]);
    expect(row).toMatchObject({ replyStatus: "stopped", text: reply.text });
  });

  it("returns the stored history, also after reconnecting with the same token", async () => {
    const sent = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "Do you ship to Canada?" });
    if (!sent.ack.ok) throw new Error("send failed");
    socket.disconnect();
    const again = await customer(token);
    const history = await again.socket.emitWithAck("chat:history", { conversationId: sent.ack.conversationId });
    expect(history.ok).toBe(true);
    if (!history.ok) return;
    expect(history.messages.map((m) => [m.role, m.text])).toEqual([
      ["customer", "Do you ship to Canada?"],
      ["bot", sent.text],
    ]);
    expect(history.messages[1]?.replyStatus).toBe("complete");
    socket = again.socket;
  });
});

describe("bad input", () => {
  let socket: ChatClient;
  let ownConversation: string;
  let othersConversation: string;
  beforeAll(async () => {
    ({ socket } = await customer());
    const own = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "hi" });
    const other = await customer();
    const theirs = await sendAndWait(other.socket, { clientMessageId: randomUUID(), text: "my secret order NW-123456" });
    if (!own.ack.ok || !theirs.ack.ok) throw new Error("setup failed");
    ownConversation = own.ack.conversationId;
    othersConversation = theirs.ack.conversationId;
  });

  const cases: [string, () => unknown, string][] = [
    ["empty text", () => ({ conversationId: ownConversation, clientMessageId: randomUUID(), text: "" }), ErrorCode.emptyText],
    ["whitespace text", () => ({ conversationId: ownConversation, clientMessageId: randomUUID(), text: " \n\t " }), ErrorCode.emptyText],
    ["text over the limit", () => ({ conversationId: ownConversation, clientMessageId: randomUUID(), text: "a".repeat(MAX_MESSAGE_CHARS + 1) }), ErrorCode.textTooLong],
    ["missing clientMessageId", () => ({ conversationId: ownConversation, text: "hello" }), ErrorCode.invalidPayload],
    ["non-string text", () => ({ conversationId: ownConversation, clientMessageId: randomUUID(), text: { $gt: "" } }), ErrorCode.invalidPayload],
    ["malformed conversation id", () => ({ conversationId: "1 OR 1=1", clientMessageId: randomUUID(), text: "hello" }), ErrorCode.invalidPayload],
    ["not an object", () => "hello", ErrorCode.invalidPayload],
    ["unknown conversation", () => ({ conversationId: randomUUID(), clientMessageId: randomUUID(), text: "hello" }), ErrorCode.unknownConversation],
    ["another customer's conversation", () => ({ conversationId: othersConversation, clientMessageId: randomUUID(), text: "hello" }), ErrorCode.unknownConversation],
  ];

  it.each(cases)("%s is refused with a stable code and nothing is stored", async (_name, payload, code) => {
    const before = await rows(`SELECT count(*)::int AS n FROM "Message"`);
    const ack = await socket.emitWithAck("chat:send", payload() as never);
    expect(ack).toMatchObject({ ok: false, error: { code } });
    if (!ack.ok) expect(ack.error.message).not.toMatch(/prisma|stack|at .*\.ts/i);
    const after = await rows(`SELECT count(*)::int AS n FROM "Message"`);
    expect(after[0].n).toBe(before[0].n);
  });

  it("history and stop refuse other customers' data", async () => {
    expect(await socket.emitWithAck("chat:history", { conversationId: othersConversation })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.unknownConversation },
    });
    expect(await socket.emitWithAck("chat:history", { conversationId: "x" } as never)).toMatchObject({
      ok: false,
      error: { code: ErrorCode.invalidPayload },
    });
    const [theirReply] = await rows(`SELECT id FROM "Message" WHERE "conversationId" = $1 AND role = 'bot'`, [othersConversation]);
    expect(await socket.emitWithAck("chat:stop", { messageId: theirReply.id })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.unknownMessage },
    });
  });

  it("the connection stays usable after bad input", async () => {
    const reply = await sendAndWait(socket, { conversationId: ownConversation, clientMessageId: randomUUID(), text: "thanks!" });
    expect(reply.ack.ok).toBe(true);
    expect(reply.text.length).toBeGreaterThan(0);
  });

  it("a forged customer token is refused at connect with invalid_token", async () => {
    const { token } = await customer();
    const forged = token.slice(0, -4) + (token.endsWith("AAAA") ? "BBBB" : "AAAA");
    const err = await connectCustomer(serverUrl, forged).then(
      () => null,
      (e: Error & { data?: { code: string } }) => e,
    );
    expect(err?.data?.code).toBe(ErrorCode.invalidToken);
  });
});
