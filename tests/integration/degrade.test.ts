/**
 * Degrade, don't queue, through the real server, database and models. On a server of its own with one
 * generation slot and a 1 ms bound, a flood of questions sent at once is answered partly by the model
 * and the rest from their facts at once: stored as `answer_degraded`, counted in the metrics, shown to
 * staff in the transcript; once the queue has drained the model answers again. On the shared server
 * (the bound disabled) the same flood is generated reply by reply.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { QUOTE_INTRO } from "@/lib/chat/grounded-reply";
import type { ConversationDetail } from "@/lib/protocol/staff";
import { connectCustomer, sendAndWait, type ChatClient, type Reply } from "../helpers/chat-client";
import { sample } from "../helpers/metrics";
import { createMigratedDatabase } from "../helpers/postgres";
import { startServer, type RunningServer } from "../helpers/server";
import { staffLogin } from "../helpers/staff";

// lib modules read DATABASE_URL when first used, so it is set before they are imported.
const database = await createMigratedDatabase("degrade_test");
process.env.DATABASE_URL = database.url;
const { createStaffUser } = await import("@/lib/auth/session");
const { db } = await import("@/lib/db/client");

/** In-scope questions with help-centre answers, one per customer of the flood. */
const FLOOD = [
  "How long does express shipping take to Germany?",
  "How do I return a kettle that I bought two weeks ago?",
  "How long do refunds take after I send something back?",
  "My card was charged twice for the same order, what should I do?",
  "What is the warranty on your coffee grinders?",
  "Can I change the size of the jacket in my order before it ships?",
  "Which payment methods do you accept?",
  "How do I reset my password?",
];

const PASSWORD = "correct horse battery staple";
let server: RunningServer;
let metricsUrl: string;
const sockets: ChatClient[] = [];

beforeAll(async () => {
  server = await startServer({
    DATABASE_URL: database.url,
    LOOPDESK_MODELS_DIR: inject("modelsDir"),
    LM_MAX_NEW_TOKENS: "24",
    // One slot and a bound no queue stays under: every reply asked while another is generating degrades.
    LM_BATCH_SIZE: "1",
    LM_DEGRADE_WAIT_MS: "1",
    // The whole flood comes from 127.0.0.1.
    PENDING_TURNS_PER_ADDRESS: "100",
    CUSTOMER_TOKEN_SECRET: "degrade-secret-degrade-secret-degrade-01",
    METRICS_PORT: "0",
  });
  metricsUrl = `http://127.0.0.1:${server.metricsPort}/metrics`;
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await server?.stop();
  await db().$disconnect();
  await database.drop();
});

/** A question from a customer of its own, and its reply; the sockets connect first, so sends can start together. */
async function customerAsking(url: string) {
  const { socket } = await connectCustomer(url);
  sockets.push(socket);
  return async (text: string): Promise<Reply & { conversationId: string }> => {
    const r = await sendAndWait(socket, { clientMessageId: randomUUID(), text });
    if (!r.ack.ok) throw new Error(`send refused: ${r.ack.error.code}`);
    return { ...r, conversationId: r.ack.conversationId };
  };
}

const ask = async (url: string, text: string) => (await customerAsking(url))(text);

/** Every question of the flood from a customer of its own, all sent at once. */
async function flood(url: string) {
  const askers = await Promise.all(FLOOD.map(() => customerAsking(url)));
  return Promise.all(askers.map((askOne, i) => askOne(FLOOD[i]!)));
}

async function stored(databaseUrl: string, replyIds: string[]) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const { rows } = await pool.query<{ id: string; decision: string; replyStatus: string; modelVersion: string; text: string; tokenCount: number }>(
      `SELECT id, decision::text, "replyStatus"::text, "modelVersion", text, "tokenCount" FROM "Message" WHERE id = ANY($1::uuid[])`,
      [replyIds],
    );
    return replyIds.map((id) => rows.find((r) => r.id === id)!);
  } finally {
    await pool.end();
  }
}

async function scrape(): Promise<string> {
  return (await fetch(metricsUrl)).text();
}

describe("degrade, don't queue", () => {
  it("answers from the facts at once while the model is busy, marks and counts it, and generates again once the queue drains", async () => {
    // The wait is estimated from finished generations: one first.
    const first = await ask(server.url, "How long does express shipping take?");
    expect((await stored(database.url, [first.messageId]))[0]!.decision).toBe("answer");

    const before = await scrape();
    const replies = await flood(server.url);
    const rows = await stored(database.url, replies.map((r) => r.messageId));
    expect(rows.every((r) => r.replyStatus === "complete")).toBe(true);
    const degraded = replies.filter((_, i) => rows[i]!.decision === "answer_degraded");
    const generated = rows.filter((r) => r.decision === "answer");
    // The first question to be decided finds the slot free; the others find it busy.
    expect(generated.length).toBeGreaterThan(0);
    expect(degraded.length).toBeGreaterThan(0);
    expect(degraded.length + generated.length).toBe(FLOOD.length);
    for (const r of degraded) {
      expect(r.text.startsWith(QUOTE_INTRO)).toBe(true);
      expect(r.tokens).toEqual([r.text]); // sent whole, at once
      expect(r.sources.length).toBeGreaterThan(0);
    }
    for (const r of rows.filter((r) => r.decision === "answer_degraded")) expect(r).toMatchObject({ modelVersion: "template", tokenCount: 0 });

    const after = await scrape();
    const delta = (name: string, labels = "") => sample(after, name, labels) - sample(before, name, labels);
    expect(delta("loopdesk_reply_decisions_total", 'decision="answer_degraded"')).toBe(degraded.length);
    expect(delta("loopdesk_grounded_reply_checks_total", 'result="quoted_under_load"')).toBe(degraded.length);
    expect(delta("loopdesk_reply_decisions_total", 'decision="answer"')).toBe(generated.length);
    // Only the model's replies count as language-model replies.
    expect(delta("loopdesk_bot_replies_total", 'outcome="complete"')).toBe(generated.length);

    // Staff see why the reply was quoted, in the transcript.
    const admin = await createStaffUser({ email: "admin-degrade@example.com", name: "Admin", role: "admin", password: PASSWORD });
    const cookie = await staffLogin(server.url, admin.email, PASSWORD);
    const res = await fetch(`${server.url}/api/staff/conversations/${degraded[0]!.conversationId}`, { headers: { cookie } });
    expect(res.status).toBe(200);
    const { conversation } = (await res.json()) as { conversation: ConversationDetail };
    const check = conversation.messages.find((m) => m.id === degraded[0]!.messageId)?.grounding?.check;
    expect(check?.underLoad?.boundMs).toBe(1);
    expect(check?.underLoad?.expectedWaitMs).toBeGreaterThan(1);
    expect(check?.sentences).toEqual([]);
    expect(check?.quoted.length).toBeGreaterThan(0);

    // The queue has drained: the model answers again.
    const later = await ask(server.url, "How long does express shipping take?");
    expect((await stored(database.url, [later.messageId]))[0]!.decision).toBe("answer");
  });

  it("generates every reply of the same flood with the bound disabled", async () => {
    // The shared server runs with LM_DEGRADE_WAIT_MS=0 (tests/helpers/global-setup.ts).
    const shared = inject("serverUrl");
    await ask(shared, "How long does express shipping take?");
    const replies = await flood(shared);
    const rows = await stored(inject("databaseUrl"), replies.map((r) => r.messageId));
    expect(rows.map((r) => [r.decision, r.replyStatus])).toEqual(FLOOD.map(() => ["answer", "complete"]));
  });
});
