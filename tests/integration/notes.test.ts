/**
 * Private notes (issue 16 item 2) through the real server: staff sockets on /staff and the customer's
 * /chat socket, PostgreSQL, the inbox search and the transcript API. A note reaches the other staff
 * watching the conversation live and never the customer (no event, not in chat:history, not in the
 * customer's data export); a closed conversation, empty or over-long text and unknown conversations
 * are refused with nothing stored.
 */
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ErrorCode } from "@/lib/protocol/errors";
import { MAX_MESSAGE_CHARS, type HistoryAck } from "@/lib/protocol/chat";
import type { ConversationDetail, ConversationSummary, CustomerDataExport, Page, ServerToStaffEvents, StaffNote, StaffToServerEvents } from "@/lib/protocol/staff";
import { staffApi, staffLogin } from "../helpers/staff";
import { connectCustomer, nextEvent, sendAndWait, type ChatClient } from "../helpers/chat-client";

const serverUrl = inject("serverUrl");
process.env.DATABASE_URL = inject("databaseUrl");
const { createStaffUser } = await import("@/lib/auth/session");

type StaffClient = Socket<ServerToStaffEvents, StaffToServerEvents>;
const pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 2 });
const sockets: Socket[] = [];
const PASSWORD = "correct horse battery staple";
/** A word no other test writes, so the inbox search can only find it in the note. */
const WORD = `quokka${[...randomBytes(6)].map((b) => String.fromCharCode(97 + (b % 26))).join("")}`;
const NOTE = `Customer sounds upset, refund approved by Sam (${WORD}).`;

async function staffMember(role: "agent" | "admin", name: string) {
  const email = `${name.toLowerCase()}-${randomUUID().slice(0, 8)}@example.com`;
  await createStaffUser({ email, name, role, password: PASSWORD });
  return { name, cookie: await staffLogin(serverUrl, email, PASSWORD) };
}

function connectStaff(cookie: string): Promise<StaffClient> {
  const socket: StaffClient = io(`${serverUrl}/staff`, { transports: ["websocket"], reconnection: false, extraHeaders: { cookie } });
  sockets.push(socket as Socket);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

const noteCount = async (conversationId: string) => (await pool.query(`SELECT count(*)::int AS n FROM "ConversationNote" WHERE "conversationId" = $1`, [conversationId])).rows[0].n as number;

let alex: { name: string; cookie: string };
let blake: { name: string; cookie: string };
let a: StaffClient;
let b: StaffClient;
let customer: ChatClient;
let conversationId: string;
/** Everything the customer's socket received, to show no note ever reached it. */
const customerEvents: unknown[] = [];

beforeAll(async () => {
  alex = await staffMember("agent", "Alex");
  blake = await staffMember("agent", "Blake");
  [a, b] = await Promise.all([connectStaff(alex.cookie), connectStaff(blake.cookie)]);
  customer = (await connectCustomer(serverUrl)).socket;
  sockets.push(customer as Socket);
  customer.onAny((event: string, payload: unknown) => customerEvents.push({ event, payload }));
  const sent = await sendAndWait(customer, { clientMessageId: randomUUID(), text: "where is my order NW-123456?" });
  if (!sent.ack.ok) throw new Error(sent.ack.error.code);
  conversationId = sent.ack.conversationId;
  for (const s of [a, b]) expect((await s.timeout(15_000).emitWithAck("staff:watch", { conversationId })).ok).toBe(true);
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await pool.end();
});

describe("private notes", () => {
  let note: StaffNote;

  it("reach the other staff watching, live, and never the customer", async () => {
    const seenByBlake = nextEvent<StaffNote>(b, "staff:note", (n) => n.conversationId === conversationId, 15_000);
    const ack = await a.timeout(15_000).emitWithAck("staff:note", { conversationId, text: `  ${NOTE}  ` });
    if (!ack.ok) throw new Error(ack.error.code);
    note = ack.note;
    expect(note).toEqual({ id: expect.any(String), conversationId, text: NOTE, createdAt: expect.any(String), authorName: "Alex" });
    expect(await seenByBlake).toEqual(note);

    // The customer's own history, asked after the note was stored, does not have it either.
    const history = (await customer.timeout(15_000).emitWithAck("chat:history", { conversationId })) as HistoryAck;
    if (!history.ok) throw new Error(history.error.code);
    expect(JSON.stringify(history)).not.toContain(WORD);
    expect(JSON.stringify(customerEvents)).not.toContain(WORD);
  });

  it("show in the staff transcript apart from the messages, and the inbox search finds them", async () => {
    const detail = await staffApi<{ conversation: ConversationDetail }>(serverUrl, `/api/staff/conversations/${conversationId}`, { cookie: blake.cookie });
    expect(detail.json.conversation.notes).toEqual([note]);
    expect(JSON.stringify(detail.json.conversation.messages)).not.toContain(WORD);

    const found = await staffApi<Page<ConversationSummary & { snippet: string | null }>>(serverUrl, `/api/staff/conversations?q=${WORD}`, { cookie: blake.cookie });
    expect(found.status, found.text).toBe(200);
    expect(found.json.items.map((c) => c.id)).toEqual([conversationId]);
    expect(found.json.items[0]!.snippet).toContain(WORD);
  });

  it("are left out of the customer's data export", async () => {
    const admin = await staffMember("admin", "Ari");
    const res = await staffApi<CustomerDataExport>(serverUrl, `/api/staff/admin/customer-data?customer=${(await pool.query(`SELECT "customerId" FROM "Conversation" WHERE id = $1`, [conversationId])).rows[0].customerId}`, { cookie: admin.cookie });
    expect(res.status).toBe(200);
    expect(res.json.conversations[0]!.id).toBe(conversationId);
    expect(res.text).not.toContain(WORD);
  });

  it("refuses empty, over-long, malformed and unknown-conversation notes, storing nothing", async () => {
    const before = await noteCount(conversationId);
    const send = (payload: unknown) => (a as Socket).timeout(15_000).emitWithAck("staff:note", payload) as Promise<{ ok: boolean; error?: { code: string } }>;
    expect((await send({ conversationId, text: "  \n " })).error?.code).toBe(ErrorCode.emptyText);
    expect((await send({ conversationId, text: "x".repeat(MAX_MESSAGE_CHARS + 1) })).error?.code).toBe(ErrorCode.textTooLong);
    expect((await send({ conversationId })).error?.code).toBe(ErrorCode.invalidPayload);
    expect((await send({ conversationId: randomUUID(), text: "hello" })).error?.code).toBe(ErrorCode.unknownConversation);
    expect(await noteCount(conversationId)).toBe(before);
  });

  it("refuses a note on a closed conversation", async () => {
    expect((await a.timeout(15_000).emitWithAck("staff:takeover", { conversationId })).ok).toBe(true);
    expect((await a.timeout(15_000).emitWithAck("staff:close", { conversationId })).ok).toBe(true);
    const before = await noteCount(conversationId);
    const ack = await b.timeout(15_000).emitWithAck("staff:note", { conversationId, text: "one more thing" });
    expect(ack).toEqual({ ok: false, error: { code: ErrorCode.conversationClosed, message: expect.stringMatching(/closed/) } });
    expect(await noteCount(conversationId)).toBe(before);
    expect(JSON.stringify(customerEvents)).not.toContain(WORD);
  });
});
