/**
 * Faults caused for real, on a server and database of this file's own: a customer reconnecting
 * mid-reply, ten seconds of PostgreSQL cutting every connection of the database while customers chat,
 * and the server SIGKILLed mid-reply and restarted.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ErrorCode, type ChatError } from "@/lib/protocol/errors";
import type { SendAck } from "@/lib/protocol/chat";
import { connectCustomer, nextEvent, resumeReply, type ChatClient } from "../helpers/chat-client";
import { ADMIN_URL, createMigratedDatabase } from "../helpers/postgres";
import { startServer, type RunningServer } from "../helpers/server";
import { until } from "../helpers/wait";

/** Questions the seed classifier answers confidently, so every turn gets a generated reply. */
const QUESTIONS = [
  "How do I return a kettle that I bought two weeks ago?",
  "Do you ship to Canada and how much does express shipping cost?",
  "What is the warranty on your coffee grinders?",
  "Can I change the size of the jacket in my order before it ships?",
];

const run = promisify(execFile);
const dataDir = mkdtempSync(path.join(os.tmpdir(), "loopdesk-faults-"));
let database: Awaited<ReturnType<typeof createMigratedDatabase>>;
let pool: pg.Pool;
let server: RunningServer;
const sockets: ChatClient[] = [];

const serverEnv = () => ({
  DATABASE_URL: database.url,
  LOOPDESK_MODELS_DIR: inject("modelsDir"),
  LM_MAX_NEW_TOKENS: "64",
  CUSTOMER_TOKEN_SECRET: "faults-secret-faults-secret-faults-0123",
  // This file is about faults, not abuse: every message comes from 127.0.0.1, and replies pile up
  // behind the outage (abuse.test.ts tests these limits).
  RATE_LIMIT_MESSAGES_PER_CUSTOMER: "10000",
  RATE_LIMIT_MESSAGES_PER_IP: "10000",
  RATE_LIMIT_CONNECTIONS_PER_IP: "10000",
  SOCKETS_PER_ADDRESS: "10000",
  PENDING_TURNS_PER_CUSTOMER: "10000",
  PENDING_TURNS_PER_ADDRESS: "10000",
  SOCKET_EVENT_BURST: "10000",
  SOCKET_EVENTS_PER_SECOND: "10000",
});

async function customer(token?: string) {
  const c = await connectCustomer(server.url, token);
  sockets.push(c.socket);
  return c;
}

async function rows<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await pool.query(sql, params)).rows as T[];
}

beforeAll(async () => {
  database = await createMigratedDatabase("faults_test");
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  pool.on("error", () => {}); // its idle connections are cut too during the outage; the pool replaces them
  server = await startServer(serverEnv());
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await server?.stop();
  await pool?.end();
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("a customer whose connection drops mid-reply", () => {
  it("gets the rest of the reply after reconnecting with the same token: stored text, then live pieces by offset", async () => {
    const { socket, token } = await customer();
    const ack = await socket.emitWithAck("chat:send", { clientMessageId: randomUUID(), text: QUESTIONS[1]! });
    if (!ack.ok) throw new Error(ack.error.code);
    // Gone as soon as the model starts: the reply's sentences are checked and sent while nobody listens.
    const generating = await nextEvent<{ messageId: string; replyToId: string; queued: boolean }>(socket, "chat:typing", (p) => p.replyToId === ack.messageId && !p.queued, 120_000);
    socket.disconnect();
    // Back once the server has stored a sentence that went out to nobody (a reply is sent a checked
    // sentence at a time, so it may be complete by then; if not, the rest arrives live).
    const storedSoFar = async () => (await rows<{ text: string; replyStatus: string }>(`SELECT text, "replyStatus" FROM "Message" WHERE id = $1`, [generating.messageId]))[0]!;
    await until("the reply to be saved in part", async () => (await storedSoFar()).text.length > 0, 60_000);

    const again = await customer(token);
    const resumed = await resumeReply(again.socket, ack.conversationId, generating.messageId);

    // The missed text came from the stored reply, not from memory.
    expect(resumed.fromHistory!.text.length).toBeGreaterThan(0);
    const [stored] = await rows<{ text: string; replyStatus: string }>(`SELECT text, "replyStatus" FROM "Message" WHERE id = $1`, [generating.messageId]);
    expect(stored!.replyStatus).toBe("complete");
    expect(resumed.text).toBe(stored!.text); // no duplicated chunk, no gap
    // Live pieces fit the stored text exactly where their offsets say.
    for (const p of resumed.pieces) expect(stored!.text.slice(p.offset, p.offset + p.text.length)).toBe(p.text);
  });
});

describe("PostgreSQL cutting the database's connections for 10 seconds in the middle of busy chats", () => {
  interface Sent {
    clientMessageId: string;
    acked: boolean;
    refusals: ChatError[];
  }

  /**
   * A customer chatting without pause: a message every second or so, whether or not the last reply
   * has come (they queue up); a refused send is resent with the same clientMessageId, as the browser does.
   */
  async function chat(until: () => boolean, sent: Sent[], replyErrors: ChatError[]) {
    const { socket } = await customer();
    socket.on("chat:error", (e) => replyErrors.push(e));
    let conversationId: string | undefined;
    for (let turn = 0; !until(); turn++) {
      const message: Sent = { clientMessageId: randomUUID(), acked: false, refusals: [] };
      sent.push(message);
      let ack: SendAck | null = null;
      while (!ack?.ok) {
        ack = await socket
          .timeout(30_000)
          .emitWithAck("chat:send", { conversationId, clientMessageId: message.clientMessageId, text: QUESTIONS[turn % QUESTIONS.length]! })
          .catch(() => null);
        if (ack && !ack.ok) {
          message.refusals.push(ack.error);
          if (!ack.error.retryable) return;
          await sleep(500);
        }
      }
      message.acked = true;
      conversationId = ack.conversationId;
      await sleep(1000);
    }
  }

  it("loses no acknowledged message, stores each once, refuses only with a retryable error, and stores the replies", async () => {
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    const sent: Sent[] = [];
    const replyErrors: ChatError[] = [];
    let outageOver = false;
    let stopChatting = false;
    const chats = Promise.all([1, 2, 3].map(() => chat(() => stopChatting, sent, replyErrors)));

    await sleep(2000);
    // The outage: new connections refused, and every open one cut, again and again, for 10 s.
    await admin.query(`ALTER DATABASE "${database.name}" ALLOW_CONNECTIONS false`);
    const outageEnds = Date.now() + 10_000;
    let cut = 0;
    while (Date.now() < outageEnds) {
      const r = await admin.query(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [database.name]);
      cut += r.rows[0].n;
      await sleep(100);
    }
    await admin.query(`ALTER DATABASE "${database.name}" ALLOW_CONNECTIONS true`);
    await admin.end();
    outageOver = true;
    await sleep(5000);
    stopChatting = true;
    await chats;
    expect(outageOver).toBe(true);
    expect(cut).toBeGreaterThan(0);

    // The outage was felt: some sends were refused, each with a retryable `unavailable`, and resent.
    const refusals = sent.flatMap((m) => m.refusals);
    expect(refusals.length).toBeGreaterThan(0);
    for (const e of refusals) expect(e).toMatchObject({ code: ErrorCode.unavailable, retryable: true });
    expect(sent.every((m) => m.acked)).toBe(true);

    // Every acknowledged message is stored exactly once, and answered by one complete reply.
    const ids = sent.map((m) => m.clientMessageId);
    const unanswered = async () =>
      (
        await rows<{ n: number }>(
          `SELECT count(*)::int AS n FROM "Message" c WHERE c."clientMessageId" = ANY($1)
              AND NOT EXISTS (SELECT 1 FROM "Message" r WHERE r."replyToId" = c.id AND r."replyStatus" <> 'streaming')`,
          [ids],
        )
      )[0]!.n;
    await until("every message answered", async () => (await unanswered()) === 0, 240_000);
    const stored = await rows<{ clientMessageId: string; n: number; replies: number; complete: number }>(
      `SELECT c."clientMessageId", count(DISTINCT c.id)::int AS n, count(r.id)::int AS replies,
              count(r.id) FILTER (WHERE r."replyStatus" = 'complete' AND r.text <> '')::int AS complete
         FROM "Message" c LEFT JOIN "Message" r ON r."replyToId" = c.id
        WHERE c."clientMessageId" = ANY($1) GROUP BY c."clientMessageId"`,
      [ids],
    );
    expect(stored).toHaveLength(ids.length);
    for (const m of stored) expect(m).toMatchObject({ n: 1, replies: 1, complete: 1 });
    // No reply failed or was lost to chat:error.
    expect(replyErrors).toEqual([]);

    // And the server goes on serving.
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
  }, 420_000);

  it("afterwards, the server listens again: promotion and rollback reach it within seconds", async () => {
    type Health = { status: string; listeners: Record<string, string>; models: { classifier: { version: string } } };
    const health = async () => (await (await fetch(`${server.url}/api/health`)).json()) as Health;
    // The listeners reconnect with backoff (at most 10 s apart) after the outage above.
    await until("health ok", async () => (await health()).status === "ok", 30_000);
    expect(Object.values((await health()).listeners)).toEqual(expect.arrayContaining(["up"]));
    expect(Object.values((await health()).listeners)).not.toContain("down");

    const seed = (await health()).models.classifier.version;
    // A second version: the seed classifier's files under another name.
    await rows(`INSERT INTO "ModelVersion" (version, path, metrics, "datasetSha256") SELECT 'seed-copy', path, metrics, "datasetSha256" FROM "ModelVersion" WHERE version = $1`, [seed]);
    const cli = (...args: string[]) =>
      run(process.execPath, ["bin/loopdesk.js", "models", ...args], {
        env: { ...process.env, ...serverEnv(), LOOPDESK_DATA_DIR: dataDir, LOOPDESK_ACTOR: "faults@ci" },
      });
    await cli("promote", "seed-copy", "--force", "--reason", "fault test");
    await until("the swap to seed-copy", async () => (await health()).models.classifier.version === "seed-copy", 10_000);
    await cli("rollback", "--reason", "fault test");
    await until("the swap back", async () => (await health()).models.classifier.version === seed, 10_000);
  }, 120_000);
});

describe("the server killed mid-reply", () => {
  it("keeps the history after a restart and marks the interrupted reply as such, with its partial text", async () => {
    const { socket, token } = await customer();
    const ack = await socket.emitWithAck("chat:send", { clientMessageId: randomUUID(), text: QUESTIONS[1]! });
    if (!ack.ok) throw new Error(ack.error.code);
    // Killed mid-reply, however fast the model: the reply's row is locked as soon as it exists, so its
    // progress save and so its finish wait on the lock, while its first piece still goes out live.
    const reply = await nextEvent<{ messageId: string; replyToId: string; queued: boolean }>(socket, "chat:typing", (p) => p.replyToId === ack.messageId, 120_000);
    const firstPiece = nextEvent<{ messageId: string }>(socket, "chat:token", (p) => p.messageId === reply.messageId, 120_000);
    const lock = await pool.connect();
    try {
      await lock.query("BEGIN");
      await lock.query(`SELECT id FROM "Message" WHERE id = $1 FOR UPDATE`, [reply.messageId]);
      await firstPiece;
      await server.stop("SIGKILL");
      await lock.query("ROLLBACK");
    } finally {
      lock.release();
    }

    server = await startServer(serverEnv());
    const again = await customer(token);
    const history = async () => {
      const h = await again.socket.emitWithAck("chat:history", { conversationId: ack.conversationId });
      if (!h.ok) throw new Error(h.error.code);
      return h;
    };
    // Marked once the reply's heartbeat has been silent long enough (so no live instance's reply is touched).
    let latest = await history();
    await until("the reply to finish", async () => (latest = await history()).messages[1]?.replyStatus !== "streaming", 90_000);
    const botReply = latest.messages[1];
    expect(latest.messages[0]).toMatchObject({ id: ack.messageId, role: "customer", text: QUESTIONS[1] });
    expect(botReply).toMatchObject({ id: reply.messageId, role: "bot", replyStatus: "interrupted" });
    const [stored] = await rows<{ text: string }>(`SELECT text FROM "Message" WHERE id = $1`, [reply.messageId]);
    expect(botReply!.text).toBe(stored!.text); // the partial text, as far as it got
    expect(latest.messages).toHaveLength(2);
  }, 180_000);
});
