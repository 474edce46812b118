/**
 * The staff inbox, queues, transcripts and intent labelling against the real server and database:
 * filters, full-text search, keyset paging, the waiting and review queues, labels (who/when,
 * confirmation vs correction, into the next dataset export), reply feedback, live nudges and the
 * 401/403 of every route. Bulk cases insert rows with SQL, dated in 2001–2003 so that what other
 * test files create never mixes in; the transcript and search cases chat through a real socket.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ConversationDetail, ConversationSummary, ReviewItem, StaffMessage } from "@/lib/protocol/staff";
import { staffApi, staffLogin, type StaffApiOptions } from "../helpers/staff";
import { connectCustomer, nextEvent, sendAndWait, type ChatClient } from "../helpers/chat-client";

const serverUrl = inject("serverUrl");
// lib modules read DATABASE_URL when first used, so it is set before they are imported.
process.env.DATABASE_URL = inject("databaseUrl");
const { createStaffUser } = await import("@/lib/auth/session");
const { db } = await import("@/lib/db/client");
const { exportSnapshot } = await import("@/lib/dataset/export");

const pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 2 });
const PASSWORD = "correct horse battery staple";
const run = randomUUID().slice(0, 8);
/** A word no other test writes: letters only, so it is one lexeme. */
const TOKEN = `zqx${run.replace(/[^a-f]/g, "").padEnd(3, "a")}${randomUUID().replace(/[^a-f]/g, "").slice(0, 6)}`;
const sockets: Socket[] = [];
const work = mkdtempSync(path.join(os.tmpdir(), "loopdesk-inbox-"));

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await pool.end();
  await db().$disconnect();
  rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Helpers

async function staffUser(role: "agent" | "ml" | "admin", name: string) {
  return createStaffUser({ email: `${name.toLowerCase()}-${randomUUID().slice(0, 8)}@example.com`, name, role, password: PASSWORD });
}

const login = (email: string) => staffLogin(serverUrl, email, PASSWORD);

const api = <T = any>(urlPath: string, opts: StaffApiOptions = {}) => staffApi<T>(serverUrl, urlPath, opts);

async function rows(sql: string, params: unknown[] = []) {
  return (await pool.query(sql, params)).rows;
}

interface SeedMessage {
  role: "customer" | "bot" | "agent";
  text: string;
  intent?: string;
  p?: number;
  runnerUp?: string;
  runnerUpP?: number;
  reviewed?: boolean;
}

interface SeedConversation {
  status?: "bot" | "waiting_for_agent" | "agent" | "closed";
  lastMessageAt: string;
  lastIntent?: string | null;
  minP?: number | null;
  hasCorrection?: boolean;
  waitingSince?: string | null;
  messages?: SeedMessage[];
}

/** Inserts a conversation (and its messages, a second apart, ending at lastMessageAt) with SQL. */
async function seed(c: SeedConversation): Promise<{ id: string; messageIds: string[] }> {
  const customerId = randomUUID();
  const id = randomUUID();
  await pool.query(`INSERT INTO "Customer"(id) VALUES ($1)`, [customerId]);
  const messages = c.messages ?? [{ role: "customer", text: `hello ${TOKEN}` }];
  await pool.query(
    `INSERT INTO "Conversation"(id, "customerId", status, "createdAt", "lastMessageAt", "lastMessagePreview", "lastIntent",
       "minIntentProbability", "hasCorrection", "waitingSince")
     VALUES ($1, $2, $3::"ConversationStatus", $4::timestamp(3) - interval '1 hour', $4::timestamp(3), $5, $6, $7, $8, $9)`,
    [id, customerId, c.status ?? "closed", c.lastMessageAt, messages.at(-1)!.text.slice(0, 160), c.lastIntent ?? null, c.minP ?? null, c.hasCorrection ?? false, c.waitingSince ?? null],
  );
  const messageIds: string[] = [];
  for (const [i, m] of messages.entries()) {
    const mid = randomUUID();
    messageIds.push(mid);
    await pool.query(
      `INSERT INTO "Message"(id, "conversationId", role, text, "createdAt", intent, "intentProbability", "runnerUpIntent",
         "runnerUpProbability", "classifierVersion", reviewed, "replyStatus", "modelVersion", "timeToFirstTokenMs", "tokenCount", "generationMs")
       VALUES ($1, $2, $3::"MessageRole", $4, $5::timestamp(3) - ($6 || ' seconds')::interval, $7, $8, $9, $10, $11, $12,
         $13::"ReplyStatus", $14, $15, $16, $17)`,
      [
        mid,
        id,
        m.role,
        m.text,
        c.lastMessageAt,
        String(messages.length - 1 - i),
        m.intent ?? null,
        m.p ?? null,
        m.runnerUp ?? null,
        m.runnerUpP ?? null,
        m.intent ? "test-classifier" : null,
        m.reviewed ?? false,
        m.role === "bot" ? "complete" : null,
        m.role === "bot" ? "test-lm" : null,
        m.role === "bot" ? 120 : null,
        m.role === "bot" ? 21 : null,
        m.role === "bot" ? 1120 : null,
      ],
    );
  }
  return { id, messageIds };
}

type ListPage = { items: (ConversationSummary & { snippet?: string | null })[]; nextCursor: string | null };

const qs = (params: Record<string, string | number | boolean | undefined>) =>
  new URLSearchParams(Object.entries(params).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]]))).toString();

function connectStaff(cookie: string): Promise<Socket> {
  // forceNew: a customer socket of this file may already hold a connection (without the cookie) to the server.
  const socket = io(`${serverUrl}/staff`, { transports: ["websocket"], reconnection: false, forceNew: true, extraHeaders: { cookie } });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

// ---------------------------------------------------------------------------------------------

let agent: Awaited<ReturnType<typeof staffUser>>;
let admin: Awaited<ReturnType<typeof staffUser>>;
let agentCookie: string;
let adminCookie: string;
let mlCookie: string;

beforeAll(async () => {
  const [a, b, m] = await Promise.all([staffUser("agent", "Avery"), staffUser("admin", "Bailey"), staffUser("ml", "Morgan")]);
  agent = a;
  admin = b;
  [agentCookie, adminCookie, mlCookie] = await Promise.all([login(a.email), login(b.email), login(m.email)]);
});

describe("inbox filters", () => {
  // Five conversations in March 2001.
  const YEAR = { from: "2001-01-01", to: "2001-12-31" };
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    ids.closedRefund = (await seed({ status: "closed", lastMessageAt: "2001-03-01T10:00:00Z", lastIntent: "returns_refunds", minP: 0.95 })).id;
    ids.botCorrected = (await seed({ status: "bot", lastMessageAt: "2001-03-02T10:00:00Z", lastIntent: "order_status", minP: 0.35, hasCorrection: true })).id;
    ids.waiting = (await seed({ status: "waiting_for_agent", lastMessageAt: "2001-03-03T10:00:00Z", lastIntent: "delivery_problem", minP: 0.55, waitingSince: "2001-03-03T09:59:00Z" })).id;
    ids.agentRefund = (await seed({ status: "agent", lastMessageAt: "2001-03-04T10:00:00Z", lastIntent: "returns_refunds", minP: 0.75 })).id;
    ids.unclassified = (await seed({ status: "closed", lastMessageAt: "2001-03-05T10:00:00Z", lastIntent: null, minP: null })).id;
  });

  async function list(params: Record<string, string | number | boolean | undefined>): Promise<string[]> {
    const res = await api<ListPage>(`/api/staff/conversations?${qs({ ...YEAR, ...params })}`, { cookie: agentCookie });
    expect(res.status, res.text).toBe(200);
    return res.json.items.map((c) => c.id);
  }

  it("lists newest activity first, with the inbox columns", async () => {
    expect(await list({})).toEqual([ids.unclassified, ids.agentRefund, ids.waiting, ids.botCorrected, ids.closedRefund]);
    const res = await api<ListPage>(`/api/staff/conversations?${qs({ ...YEAR, status: "waiting_for_agent" })}`, { cookie: agentCookie });
    expect(res.json.items[0]).toMatchObject({
      id: ids.waiting,
      status: "waiting_for_agent",
      lastIntent: "delivery_problem",
      minIntentProbability: 0.55,
      hasCorrection: false,
      waitingSince: "2001-03-03T09:59:00.000Z",
      lastMessageAt: "2001-03-03T10:00:00.000Z",
      lastMessagePreview: `hello ${TOKEN}`,
      rating: null,
    });
  });

  it("filters by status (one or several)", async () => {
    expect(await list({ status: "closed" })).toEqual([ids.unclassified, ids.closedRefund]);
    expect(await list({ status: "bot,agent" })).toEqual([ids.agentRefund, ids.botCorrected]);
  });

  it("filters by intent", async () => {
    expect(await list({ intent: "returns_refunds" })).toEqual([ids.agentRefund, ids.closedRefund]);
    expect(await list({ intent: "greeting" })).toEqual([]);
  });

  it("filters by the conversation's lowest confidence, bounds included", async () => {
    expect(await list({ minConfidence: 0.5, maxConfidence: 0.8 })).toEqual([ids.agentRefund, ids.waiting]);
    expect(await list({ maxConfidence: 0.35 })).toEqual([ids.botCorrected]);
    expect(await list({ minConfidence: 0.9 })).toEqual([ids.closedRefund]);
  });

  it("filters by date range (a day given as `to` includes that day)", async () => {
    expect(await list({ from: "2001-03-02", to: "2001-03-03" })).toEqual([ids.waiting, ids.botCorrected]);
    expect(await list({ from: "2001-03-02T12:00:00Z", to: "2001-03-04T10:00:00Z" })).toEqual([ids.waiting]);
  });

  it("filters by has-correction", async () => {
    expect(await list({ hasCorrection: true })).toEqual([ids.botCorrected]);
    expect(await list({ hasCorrection: false })).toEqual([ids.unclassified, ids.agentRefund, ids.waiting, ids.closedRefund]);
  });

  it("combines filters", async () => {
    expect(await list({ status: "agent,closed", intent: "returns_refunds", maxConfidence: 0.9 })).toEqual([ids.agentRefund]);
  });

  it("refuses bad parameters with 400", async () => {
    for (const bad of ["limit=500", "limit=0", "status=nope", "minConfidence=2", "from=yesterday", "hasCorrection=maybe", "cursor=%21%21", "minConfidence=0.9&maxConfidence=0.1"]) {
      const res = await api(`/api/staff/conversations?${bad}`, { cookie: agentCookie });
      expect(res.status, bad).toBe(400);
      expect(res.json.error.code, bad).toMatch(/invalid_query|invalid_cursor/);
    }
  });
});

describe("full-text search", () => {
  let refundId: string;
  let parcelId: string;
  let chatted: { conversationId: string };
  beforeAll(async () => {
    refundId = (await seed({ lastMessageAt: "2001-06-01T10:00:00Z", messages: [{ role: "customer", text: `I am still waiting for my refund ${TOKEN}` }, { role: "bot", text: "Sorry about that!" }] })).id;
    parcelId = (await seed({ lastMessageAt: "2001-06-02T10:00:00Z", messages: [{ role: "customer", text: `Where are the refunds for both parcels? ${TOKEN}` }] })).id;
    // And one through the real chat: the generated search column of a message the server stored.
    const { socket } = await connectCustomer(serverUrl);
    sockets.push(socket as unknown as Socket);
    const r = await sendAndWait(socket, { clientMessageId: randomUUID(), text: `Hi, my blender ${TOKEN}kettle arrived cracked, I'd like refunds` });
    if (!r.ack.ok) throw new Error(r.ack.error.message);
    chatted = { conversationId: r.ack.conversationId };
  });

  const search = async (q: string, extra: Record<string, string> = {}) => {
    const res = await api<ListPage>(`/api/staff/conversations?${qs({ q, ...extra })}`, { cookie: agentCookie });
    expect(res.status, res.text).toBe(200);
    return res.json;
  };

  it("finds a message by a word, stemmed both ways (refunds finds refund and the other way round)", async () => {
    expect((await search(`refunds ${TOKEN}`)).items.map((c) => c.id)).toEqual([parcelId, refundId]);
    expect((await search(`refund ${TOKEN}`)).items.map((c) => c.id)).toEqual([parcelId, refundId]);
    expect((await search(`parcel ${TOKEN}`)).items.map((c) => c.id)).toEqual([parcelId]);
  });

  it("supports phrases and exclusions, and marks the matched words in a snippet", async () => {
    expect((await search(`"waiting for my refund" ${TOKEN}`)).items.map((c) => c.id)).toEqual([refundId]);
    expect((await search(`refund -parcel ${TOKEN}`)).items.map((c) => c.id)).toEqual([refundId]);
    const hit = (await search(`parcels ${TOKEN}`)).items[0]!;
    expect(hit.snippet).toContain("\u0001parcels\u0002");
  });

  it("searches messages stored by the chat", async () => {
    const found = await search(`${TOKEN}kettle`);
    expect(found.items.map((c) => c.id)).toEqual([chatted.conversationId]);
  });

  it("combines with filters, and finds nothing for nothing", async () => {
    expect((await search(`refund ${TOKEN}`, { to: "2001-06-01" })).items.map((c) => c.id)).toEqual([refundId]);
    expect((await search(`refund ${TOKEN}`, { status: "bot" })).items).toEqual([]);
    expect((await search(`xylophone${TOKEN}`)).items).toEqual([]);
    // Only stop words: an empty query matches nothing rather than failing.
    expect((await search("the and of", { from: "2001-01-01", to: "2001-12-31" })).items).toEqual([]);
  });
});

describe("paging", () => {
  const RANGE = { from: "2002-01-01", to: "2002-12-31" };
  let expected: string[];
  beforeAll(async () => {
    const made: { id: string; at: string }[] = [];
    for (let i = 0; i < 25; i++) {
      // Ten share one timestamp: the id breaks the tie.
      const at = i < 10 ? "2002-05-05T05:05:05.005Z" : new Date(Date.UTC(2002, 1, 1 + i)).toISOString();
      made.push({ id: (await seed({ lastMessageAt: at })).id, at });
    }
    expected = made.sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1)).map((m) => m.id);
  });

  it("walks every conversation exactly once, newest first, ties by id, and stays stable as new activity arrives", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; json: ListPage } = await api<ListPage>(
        `/api/staff/conversations?${qs({ ...RANGE, limit: 7, cursor: cursor ?? undefined })}`,
        { cookie: agentCookie },
      );
      expect(res.status).toBe(200);
      expect(res.json.items.length).toBeLessThanOrEqual(7);
      seen.push(...res.json.items.map((c) => c.id));
      cursor = res.json.nextCursor;
      // New activity on top while paging does not shift later pages.
      if (pages === 0) await seed({ lastMessageAt: "2002-12-30T00:00:00Z" });
      pages++;
    } while (cursor);
    expect(pages).toBe(4);
    expect(seen).toEqual(expected);
  });
});

describe("waiting queue", () => {
  it("lists conversations waiting for an agent, the longest waiting first", async () => {
    const older = await seed({ status: "waiting_for_agent", lastMessageAt: "2003-01-05T00:00:00Z", waitingSince: "2000-01-01T00:00:00Z" });
    const newer = await seed({ status: "waiting_for_agent", lastMessageAt: "2003-01-01T00:00:00Z", waitingSince: "2000-01-02T00:00:00Z" });
    const notWaiting = await seed({ status: "agent", lastMessageAt: "2003-01-01T00:00:00Z", waitingSince: "1999-01-01T00:00:00Z" });
    const res = await api<{ items: ConversationSummary[] }>("/api/staff/queue", { cookie: agentCookie });
    expect(res.status).toBe(200);
    const ids = res.json.items.map((c) => c.id);
    expect(ids.slice(0, 2)).toEqual([older.id, newer.id]);
    expect(ids).not.toContain(notWaiting.id);
    expect(res.json.items.every((c) => c.status === "waiting_for_agent")).toBe(true);
    const since = res.json.items.map((c) => c.waitingSince ?? "");
    expect(since).toEqual([...since].sort());
  });
});

describe("review queue and labelling", () => {
  let conv: { id: string; messageIds: string[] };
  // margins: a 0.30, b 0.02, c 0.10 (reviewed), d 0.05 → order b, d, a; c excluded; the bot reply never listed.
  beforeAll(async () => {
    conv = await seed({
      status: "closed",
      lastMessageAt: "2003-03-03T03:03:03Z",
      lastIntent: "cancel_order",
      minP: 0.4,
      messages: [
        { role: "customer", text: `please cancel it ${TOKEN} a`, intent: "cancel_order", p: 0.6, runnerUp: "change_order", runnerUpP: 0.3 },
        { role: "bot", text: "Sure, I can help with that." },
        { role: "customer", text: `where is my stuff ${TOKEN} b`, intent: "order_status", p: 0.41, runnerUp: "delivery_problem", runnerUpP: 0.39 },
        { role: "customer", text: `thanks ${TOKEN} c`, intent: "thanks", p: 0.5, runnerUp: "goodbye", runnerUpP: 0.4, reviewed: true },
        { role: "customer", text: `can I change the address ${TOKEN} d`, intent: "change_address", p: 0.45, runnerUp: "change_order", runnerUpP: 0.4 },
      ],
    });
  });

  /** The whole queue, page by page (exercising the cursor). */
  async function wholeQueue(cookie = agentCookie): Promise<ReviewItem[]> {
    const all: ReviewItem[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; json: { items: ReviewItem[]; nextCursor: string | null } } = await api(
        `/api/staff/review?${qs({ limit: 25, cursor: cursor ?? undefined })}`,
        { cookie },
      );
      expect(res.status).toBe(200);
      all.push(...res.json.items);
      cursor = res.json.nextCursor;
    } while (cursor);
    return all;
  }

  it("ranks unreviewed customer messages by the margin between the top two intents, smallest first", async () => {
    const [a, bot, b, c, d] = conv.messageIds;
    const queue = await wholeQueue();
    const margins = queue.map((x) => x.margin);
    expect(margins).toEqual([...margins].sort((p, q) => p - q));
    const mine = queue.filter((x) => x.message.conversationId === conv.id);
    expect(mine.map((x) => x.message.id)).toEqual([b, d, a]);
    expect(mine.map((x) => x.margin.toFixed(2))).toEqual(["0.02", "0.05", "0.30"]);
    const ids = queue.map((x) => x.message.id);
    expect(ids).not.toContain(c);
    expect(ids).not.toContain(bot);
    expect(mine[0]).toMatchObject({ conversationStatus: "closed", previousText: "Sure, I can help with that." });
    expect(mine[0]!.message).toMatchObject({ intent: "order_status", intentProbability: 0.41, runnerUpIntent: "delivery_problem", runnerUpProbability: 0.39, reviewed: false });
    const first = await api(`/api/staff/review`, { cookie: agentCookie });
    expect(first.json.backlog).toBeGreaterThanOrEqual(3);
    expect(first.json.labels).toContain("order_status");
  });

  it("a confirmation stores who and when, marks the message reviewed and takes it off the queue", async () => {
    const a = conv.messageIds[0]!;
    const before = Date.now();
    const res = await api<{ message: StaffMessage }>(`/api/staff/messages/${a}/label`, { cookie: agentCookie, method: "POST", body: { intent: "cancel_order" } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.message).toMatchObject({ id: a, reviewed: true, latestLabel: { intent: "cancel_order", source: "confirmed", labeledBy: agent.email } });
    const at = Date.parse(res.json.message.latestLabel!.createdAt);
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(Date.now() + 1000);
    const [label] = await rows(`SELECT * FROM "IntentLabel" WHERE "messageId" = $1`, [a]);
    expect(label).toMatchObject({ intent: "cancel_order", source: "confirmed", labeledBy: agent.email });
    const [msg] = await rows(`SELECT reviewed FROM "Message" WHERE id = $1`, [a]);
    expect(msg.reviewed).toBe(true);
    const [c] = await rows(`SELECT "hasCorrection" FROM "Conversation" WHERE id = $1`, [conv.id]);
    expect(c.hasCorrection).toBe(false);
    expect((await wholeQueue()).map((x) => x.message.id)).not.toContain(a);
  });

  it("a correction is stored as such and flags the conversation (the has-correction filter finds it)", async () => {
    const b = conv.messageIds[2]!;
    const res = await api<{ message: StaffMessage }>(`/api/staff/messages/${b}/label`, { cookie: adminCookie, method: "POST", body: { intent: "delivery_problem" } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.message.latestLabel).toMatchObject({ intent: "delivery_problem", source: "corrected", labeledBy: admin.email });
    const [c] = await rows(`SELECT "hasCorrection" FROM "Conversation" WHERE id = $1`, [conv.id]);
    expect(c.hasCorrection).toBe(true);
    const list = await api<ListPage>(`/api/staff/conversations?${qs({ hasCorrection: true, from: "2003-03-03", to: "2003-03-03" })}`, { cookie: agentCookie });
    expect(list.json.items.map((x) => x.id)).toEqual([conv.id]);
    // The transcript shows the newest label on the message.
    const detail = await api<{ conversation: ConversationDetail }>(`/api/staff/conversations/${conv.id}`, { cookie: agentCookie });
    expect(detail.json.conversation.messages[2]!.latestLabel).toMatchObject({ intent: "delivery_problem", source: "corrected" });
    expect(detail.json.conversation.hasCorrection).toBe(true);
  });

  it("the newest label wins: relabelling to the prediction clears the correction", async () => {
    const d = conv.messageIds[4]!;
    const corrected = await api<{ message: StaffMessage }>(`/api/staff/messages/${d}/label`, { cookie: agentCookie, method: "POST", body: { intent: "change_order" } });
    expect(corrected.json.message.latestLabel?.source).toBe("corrected");
    await new Promise((r) => setTimeout(r, 5));
    const confirmed = await api<{ message: StaffMessage }>(`/api/staff/messages/${d}/label`, { cookie: agentCookie, method: "POST", body: { intent: "change_address" } });
    expect(confirmed.json.message.latestLabel).toMatchObject({ intent: "change_address", source: "confirmed" });
    expect(await rows(`SELECT intent, source FROM "IntentLabel" WHERE "messageId" = $1 ORDER BY "createdAt"`, [d])).toEqual([
      { intent: "change_order", source: "corrected" },
      { intent: "change_address", source: "confirmed" },
    ]);
    // b is still corrected, so the conversation keeps its flag.
    const [c] = await rows(`SELECT "hasCorrection" FROM "Conversation" WHERE id = $1`, [conv.id]);
    expect(c.hasCorrection).toBe(true);
  });

  it("labels become training data in the next dataset export", async () => {
    const { path: file } = await exportSnapshot({ outPath: path.join(work, "snapshot.jsonl"), dataDir: work });
    const exported = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { text: string; label: string; source: string });
    const byText = new Map(exported.map((r) => [r.text, r]));
    expect(byText.get(`please cancel it ${TOKEN} a`)).toMatchObject({ label: "cancel_order", source: "staff" });
    expect(byText.get(`where is my stuff ${TOKEN} b`)).toMatchObject({ label: "delivery_problem", source: "staff" });
    expect(byText.get(`can I change the address ${TOKEN} d`)).toMatchObject({ label: "change_address", source: "staff" });
    // Not labelled (only marked reviewed by the seed): not staff data.
    expect(byText.has(`thanks ${TOKEN} c`)).toBe(false);
  });

  it("refuses unknown intents, non-customer messages, unknown messages and bad bodies", async () => {
    const [a, bot] = conv.messageIds;
    const post = (id: string, body: unknown) => api(`/api/staff/messages/${id}/label`, { cookie: agentCookie, method: "POST", body });
    let res = await post(a!, { intent: "not_an_intent" });
    expect([res.status, res.json.error.code]).toEqual([400, "unknown_intent"]);
    res = await post(bot!, { intent: "cancel_order" });
    expect([res.status, res.json.error.code]).toEqual([409, "not_customer_message"]);
    res = await post(randomUUID(), { intent: "cancel_order" });
    expect([res.status, res.json.error.code]).toEqual([404, "not_found"]);
    res = await post("not-a-uuid", { intent: "cancel_order" });
    expect(res.status).toBe(404);
    res = await post(a!, { label: "cancel_order" });
    expect([res.status, res.json.error.code]).toEqual([400, "invalid_payload"]);
  });

  it("nudges open inboxes live after a label", async () => {
    const staffSocket = await connectStaff(agentCookie);
    const nudge = nextEvent<{ conversationId: string }>(staffSocket, "inbox:changed", (p) => p.conversationId === conv.id);
    const res = await api(`/api/staff/messages/${conv.messageIds[0]}/label`, { cookie: agentCookie, method: "POST", body: { intent: "cancel_order" } });
    expect(res.status).toBe(200);
    await expect(nudge).resolves.toEqual({ conversationId: conv.id });
  });
});

describe("transcript and reply feedback", () => {
  let conversationId: string;
  let customerMessage: StaffMessage;
  let botMessage: StaffMessage;
  beforeAll(async () => {
    const { socket } = await connectCustomer(serverUrl);
    sockets.push(socket as unknown as Socket);
    const r = await sendAndWait(socket as ChatClient, { clientMessageId: randomUUID(), text: "How long does standard shipping take to Germany?" });
    if (!r.ack.ok) throw new Error(r.ack.error.message);
    conversationId = r.ack.conversationId;
    const res = await api<{ conversation: ConversationDetail; labels: string[] }>(`/api/staff/conversations/${conversationId}`, { cookie: agentCookie });
    expect(res.status, res.text).toBe(200);
    expect(res.json.labels.length).toBeGreaterThan(2);
    const messages = res.json.conversation.messages;
    customerMessage = messages.find((m) => m.role === "customer")!;
    botMessage = messages.find((m) => m.role === "bot")!;
  });

  it("shows the classifier's verdict on customer messages and the generation metrics on bot replies", () => {
    expect(customerMessage.intent).toEqual(expect.any(String));
    expect(customerMessage.intentProbability).toBeGreaterThan(0);
    expect(customerMessage.runnerUpIntent).toEqual(expect.any(String));
    expect(customerMessage.runnerUpIntent).not.toBe(customerMessage.intent);
    expect(customerMessage.runnerUpProbability).toBeLessThanOrEqual(customerMessage.intentProbability!);
    expect(customerMessage.classifierVersion).toEqual(expect.any(String));
    expect(customerMessage.latestLabel).toBeNull();
    expect(botMessage).toMatchObject({ replyStatus: "complete", modelVersion: expect.any(String), feedback: null });
    expect(botMessage.tokenCount).toEqual(expect.any(Number));
    expect(botMessage.generationMs).toEqual(expect.any(Number));
    expect(botMessage.timeToFirstTokenMs).toEqual(expect.any(Number));
    expect(botMessage.text.length).toBeGreaterThan(0);
  });

  it("GET of an unknown or malformed conversation id is 404", async () => {
    expect((await api(`/api/staff/conversations/${randomUUID()}`, { cookie: agentCookie })).status).toBe(404);
    expect((await api(`/api/staff/conversations/nope`, { cookie: agentCookie })).status).toBe(404);
  });

  it("marks a bot reply good or bad, with who", async () => {
    let res = await api<{ message: StaffMessage }>(`/api/staff/messages/${botMessage.id}/feedback`, { cookie: agentCookie, method: "POST", body: { feedback: "good" } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.message).toMatchObject({ id: botMessage.id, feedback: "good", feedbackBy: agent.email });
    res = await api(`/api/staff/messages/${botMessage.id}/feedback`, { cookie: adminCookie, method: "POST", body: { feedback: "bad" } });
    expect(res.json.message).toMatchObject({ feedback: "bad", feedbackBy: admin.email });
    const [row] = await rows(`SELECT feedback, "feedbackBy" FROM "Message" WHERE id = $1`, [botMessage.id]);
    expect(row).toEqual({ feedback: "bad", feedbackBy: admin.email });
  });

  it("refuses feedback on customer messages, unknown values and unknown messages", async () => {
    const post = (id: string, body: unknown) => api(`/api/staff/messages/${id}/feedback`, { cookie: agentCookie, method: "POST", body });
    let res = await post(customerMessage.id, { feedback: "good" });
    expect([res.status, res.json.error.code]).toEqual([409, "not_bot_message"]);
    res = await post(botMessage.id, { feedback: "meh" });
    expect([res.status, res.json.error.code]).toEqual([400, "invalid_payload"]);
    res = await post(randomUUID(), { feedback: "good" });
    expect(res.status).toBe(404);
  });

  it("a label on a chatted message is stored against the real prediction", async () => {
    const other = customerMessage.runnerUpIntent!;
    const res = await api<{ message: StaffMessage }>(`/api/staff/messages/${customerMessage.id}/label`, { cookie: agentCookie, method: "POST", body: { intent: other } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.message.latestLabel).toMatchObject({ intent: other, source: "corrected" });
  });
});

describe("access", () => {
  const ID = "00000000-0000-4000-8000-000000000000";
  const routes: { method: "GET" | "POST"; url: string; body?: unknown }[] = [
    { method: "GET", url: "/api/staff/conversations" },
    { method: "GET", url: `/api/staff/conversations/${ID}` },
    { method: "GET", url: "/api/staff/queue" },
    { method: "GET", url: "/api/staff/review" },
    { method: "POST", url: `/api/staff/messages/${ID}/label`, body: { intent: "greeting" } },
    { method: "POST", url: `/api/staff/messages/${ID}/feedback`, body: { feedback: "good" } },
  ];

  it.each(routes)("$method $url: 401 without a session, 403 for the ml role", async ({ method, url, body }) => {
    const anonymous = await api(url, { method, body });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.error.code).toBe("unauthenticated");
    const ml = await api(url, { method, body, cookie: mlCookie });
    expect(ml.status).toBe(403);
    expect(ml.json.error.code).toBe("forbidden");
    const allowed = await api(url, { method, body, cookie: agentCookie });
    expect([401, 403]).not.toContain(allowed.status);
  });

  it("refuses a POST from another origin", async () => {
    const res = await api(`/api/staff/messages/${ID}/label`, { method: "POST", body: { intent: "greeting" }, cookie: agentCookie, origin: "https://evil.example" });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe("csrf");
  });

  it("pages redirect to the login without a session", async () => {
    for (const page of ["/staff", "/staff/queue", "/staff/review", `/staff/conversations/${ID}`]) {
      const res = await fetch(`${serverUrl}${page}`, { redirect: "manual" });
      expect([303, 307, 308], page).toContain(res.status);
      expect(res.headers.get("location"), page).toMatch(/\/staff\/login/);
    }
  });

  it("pages render for an agent, with user text escaped", async () => {
    const evil = `<img src=x onerror=alert(1)> ${TOKEN}evil`;
    const { id } = await seed({ lastMessageAt: new Date().toISOString(), messages: [{ role: "customer", text: evil, intent: "greeting", p: 0.5, runnerUp: "thanks", runnerUpP: 0.2 }] });
    for (const page of ["/staff", "/staff/queue", "/staff/review", `/staff/conversations/${id}`]) {
      const res = await fetch(`${serverUrl}${page}`, { headers: { cookie: agentCookie } });
      expect(res.status, page).toBe(200);
      const html = await res.text();
      expect(html, page).not.toContain("<img src=x");
    }
    const html = await (await fetch(`${serverUrl}/staff/conversations/${id}`, { headers: { cookie: agentCookie } })).text();
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    // The inbox renders the filters of its URL (search box filled, only the match listed).
    const searched = await (await fetch(`${serverUrl}/staff?${qs({ q: `${TOKEN}evil`, status: "closed" })}`, { headers: { cookie: agentCookie } })).text();
    expect(searched).toContain(`value="${TOKEN}evil"`);
    expect(searched).toContain(`data-conversation-id="${id}"`);
    expect(searched.match(/data-conversation-id="/g)).toHaveLength(1);
  });
});
