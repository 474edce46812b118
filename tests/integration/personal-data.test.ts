/**
 * Issue 16 items 5 and 6 through the real server, PostgreSQL and CLI: a customer's email and card
 * number never reach a training snapshot (classifier or LM) or a stored LM example while staff still
 * see them in the transcript; and `data export --customer` / the admin download hand a customer
 * everything stored about them, audited, refusing bad input without writing anything.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { LmSnapshotRow } from "@/lib/dataset/lm-export";
import type { SnapshotRow } from "@/lib/dataset/export";
import type { ConversationDetail, CustomerDataExport, LmExampleResponse } from "@/lib/protocol/staff";
import { connectCustomer, sendAndWait, type ChatClient } from "../helpers/chat-client";
import { staffApi, staffLogin } from "../helpers/staff";
import { loopdeskCli } from "../helpers/cli";

const serverUrl = inject("serverUrl");
const databaseUrl = inject("databaseUrl");
process.env.DATABASE_URL = databaseUrl;
const { createStaffUser } = await import("@/lib/auth/session");

const work = mkdtempSync(path.join(os.tmpdir(), "loopdesk-personal-data-"));
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const PASSWORD = "correct horse battery staple";
const EMAIL = "jane.doe@example.com";
const CARD = "4111 1111 1111 1111";
const FIRST = `hi, I'm ${EMAIL} and my card ${CARD} was charged for order NW-123456`;
const ANSWER = `To cancel, go to My Orders, open the order and choose Cancel order; we also wrote to ${EMAIL}.`;

const cli = (...args: string[]) => loopdeskCli({ DATABASE_URL: databaseUrl, LOOPDESK_DATA_DIR: work, LOOPDESK_MODELS_DIR: inject("modelsDir"), LOOPDESK_ACTOR: "personal-data@ci" }, args);

async function staffCookie(role: "agent" | "admin"): Promise<{ email: string; cookie: string }> {
  const email = `personal-data-${role}-${randomUUID().slice(0, 8)}@example.com`;
  await createStaffUser({ email, name: `PD ${role}`, role, password: PASSWORD });
  return { email, cookie: await staffLogin(serverUrl, email, PASSWORD) };
}

let customer: ChatClient;
let agent: { email: string; cookie: string };
let admin: { email: string; cookie: string };
let conversationId: string;
let customerId: string;
let firstId: string;
let replyId: string;

beforeAll(async () => {
  agent = await staffCookie("agent");
  admin = await staffCookie("admin");
  customer = (await connectCustomer(serverUrl)).socket;
  const first = await sendAndWait(customer, { clientMessageId: randomUUID(), text: FIRST });
  if (!first.ack.ok) throw new Error(first.ack.error.code);
  conversationId = first.ack.conversationId;
  firstId = first.ack.messageId;
  const second = await sendAndWait(customer, { conversationId, clientMessageId: randomUUID(), text: "how do i cancel my order? just placed it" });
  if (!second.ack.ok) throw new Error(second.ack.error.code);
  replyId = second.messageId;
  customerId = (await pool.query(`SELECT "customerId" FROM "Conversation" WHERE id = $1`, [conversationId])).rows[0].customerId;
});

afterAll(async () => {
  (customer as Socket | undefined)?.close();
  await pool.end();
  rmSync(work, { recursive: true, force: true });
});

describe("personal data kept out of training", () => {
  it("a labelled message is exported with placeholders; the transcript keeps the original", async () => {
    const label = await staffApi(serverUrl, `/api/staff/messages/${firstId}/label`, { cookie: agent.cookie, method: "POST", body: { intent: "payment_problem" } });
    expect(label.status, label.text).toBe(200);

    const out = path.join(work, "classifier.jsonl");
    const r = await cli("dataset", "export", "--out", out);
    expect(r.code, r.stderr).toBe(0);
    const snapshot = readFileSync(out, "utf8");
    expect(snapshot).not.toContain(EMAIL);
    expect(snapshot).not.toContain(CARD);
    const rows = snapshot.trim().split("\n").map((l) => JSON.parse(l) as SnapshotRow);
    expect(rows).toContainEqual(
      expect.objectContaining({ text: "hi, I'm <EMAIL> and my card <CARD> was charged for order NW-123456", label: "payment_problem", source: "staff" }),
    );

    const transcript = await staffApi<{ conversation: ConversationDetail }>(serverUrl, `/api/staff/conversations/${conversationId}`, { cookie: agent.cookie });
    expect(transcript.json.conversation.messages.find((m) => m.id === firstId)?.text).toBe(FIRST);
  });

  it("an LM example is stored and exported with placeholders in its history and answer", async () => {
    expect((await staffApi(serverUrl, `/api/staff/messages/${replyId}/feedback`, { cookie: agent.cookie, method: "POST", body: { feedback: "bad" } })).status).toBe(200);
    const saved = await staffApi<LmExampleResponse>(serverUrl, `/api/staff/messages/${replyId}/lm-example`, { cookie: agent.cookie, method: "POST", body: { answer: ANSWER } });
    expect(saved.status, saved.text).toBe(201);
    expect(saved.json.example.answer).toBe("To cancel, go to My Orders, open the order and choose Cancel order; we also wrote to <EMAIL>.");
    const stored = (await pool.query(`SELECT history::text, answer FROM "LmExample" WHERE "sourceMessageId" = $1`, [replyId])).rows[0];
    expect(`${stored.history} ${stored.answer}`).not.toContain(EMAIL);
    expect(stored.history).toContain("<CARD>");

    const out = path.join(work, "lm.jsonl");
    const r = await cli("dataset", "export", "--kind", "lm", "--out", out);
    expect(r.code, r.stderr).toBe(0);
    const snapshot = readFileSync(out, "utf8");
    expect(snapshot).not.toContain(EMAIL);
    expect(snapshot).not.toContain(CARD);
    const row = snapshot
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as LmSnapshotRow)
      .find((x) => x.group === `conversation:${conversationId}`);
    expect(row?.messages.some((m) => m.content.includes("<EMAIL>") && m.content.includes("<CARD>"))).toBe(true);
  });
});

describe("a customer's data on request", () => {
  const exportTo = (file: string, id = customerId) => cli("data", "export", "--customer", id, "--out", file);
  const audits = async () => (await pool.query(`SELECT actor FROM "AuditLog" WHERE action = 'data.export' AND subject = $1`, [`customer:${customerId}`])).rows;

  it("the CLI writes everything stored about the customer as JSON, audited", async () => {
    const before = (await audits()).length;
    await new Promise<void>((resolve, reject) => customer.emit("chat:feedback", { messageId: replyId, helpful: false }, (a) => (a.ok ? resolve() : reject(new Error(a.error.code)))));
    const file = path.join(work, "customer.json");
    const r = await exportTo(file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote 1 conversation\(s\), \d+ message\(s\)/);
    const data = JSON.parse(readFileSync(file, "utf8")) as CustomerDataExport;
    expect(data.format).toBe("loopdesk-customer-data/1");
    expect(data.customer).toEqual({ id: customerId, createdAt: expect.any(String), email: null });
    expect(data.conversations.map((c) => c.id)).toEqual([conversationId]);
    const messages = data.conversations[0]!.messages;
    // The customer gets their own words as written, not the training copy.
    expect(messages.find((m) => m.id === firstId)).toMatchObject({ role: "customer", text: FIRST });
    expect(messages.find((m) => m.id === replyId)).toMatchObject({ role: "bot", helpful: false });
    expect(Object.keys(messages[0]!).sort()).toEqual(["clarifiedIntent", "createdAt", "helpful", "id", "role", "text"]);
    expect(await audits()).toHaveLength(before + 1);
    expect((await audits()).at(-1)).toEqual({ actor: "personal-data@ci" });
  });

  it("refuses an unknown customer, a bad id and a missing folder with one clear line, writing nothing", async () => {
    const before = (await audits()).length;
    const unknown = path.join(work, "unknown.json");
    const r1 = await exportTo(unknown, randomUUID());
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/^error: no customer [0-9a-f-]{36}: nothing was written\n$/);
    expect(existsSync(unknown)).toBe(false);

    const r2 = await exportTo(path.join(work, "bad.json"), "bob");
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/^error: "bob" is not a customer id/);

    const missing = path.join(work, "no-such-folder", "x.json");
    const r3 = await exportTo(missing);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toMatch(/^error: cannot write .*: the folder .*no-such-folder does not exist\n$/);
    expect(existsSync(path.dirname(missing))).toBe(false);
    expect(await audits()).toHaveLength(before);
  });

  it("the admin route: 401 without a session, 403 for an agent, a JSON download for an admin", async () => {
    const url = `/api/staff/admin/customer-data?customer=${customerId}`;
    expect((await staffApi(serverUrl, url)).status).toBe(401);
    const forbidden = await staffApi(serverUrl, url, { cookie: agent.cookie });
    expect(forbidden.status).toBe(403);
    expect(forbidden.text).not.toContain(EMAIL);

    const res = await fetch(`${serverUrl}${url}`, { headers: { cookie: admin.cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="customer-${customerId}.json"`);
    const data = (await res.json()) as CustomerDataExport;
    expect(data.conversations[0]!.messages.find((m) => m.id === firstId)?.text).toBe(FIRST);
    expect((await audits()).at(-1)).toEqual({ actor: admin.email });

    expect((await staffApi(serverUrl, `/api/staff/admin/customer-data?customer=${randomUUID()}`, { cookie: admin.cookie })).json.error.code).toBe("not_found");
    expect((await staffApi(serverUrl, "/api/staff/admin/customer-data?customer=bob", { cookie: admin.cookie })).json.error.code).toBe("invalid_payload");
  });
});
