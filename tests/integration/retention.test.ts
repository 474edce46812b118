/**
 * `loopdesk data purge` through the real CLI, on a database and server of its own (a purge of old
 * conversations would take other files' test data with it): conversations older than N days,
 * or everything of one customer, go with their messages and intent labels (the training data derived
 * from them) and the dataset snapshots holding those labels; other customers are untouched; a dry run
 * deletes nothing; every purge is audited.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectCustomer, sendAndWait } from "../helpers/chat-client";
import { createMigratedDatabase } from "../helpers/postgres";
import { startServer, type RunningServer } from "../helpers/server";
import { loopdeskCli } from "../helpers/cli";

let database: Awaited<ReturnType<typeof createMigratedDatabase>>;
let server: RunningServer;
let pool: pg.Pool;
const work = mkdtempSync(path.join(os.tmpdir(), "loopdesk-retention-"));
const snapshots = path.join(work, "snapshots");
/** The CLI's model store: one trained version whose holdout predictions hold customer texts. */
const models = path.join(work, "models");

const cli = (...args: string[]) => loopdeskCli({ DATABASE_URL: database.url, LOOPDESK_DATA_DIR: work, LOOPDESK_MODELS_DIR: models, LOOPDESK_ACTOR: "privacy@ci" }, args);

const count = async (sql: string, params: unknown[]) => (await pool.query(sql, params)).rows[0].n as number;
const conversationsOf = (customerId: string) => count(`SELECT count(*)::int AS n FROM "Conversation" WHERE "customerId" = $1`, [customerId]);
const labelsOf = (customerId: string) =>
  count(
    `SELECT count(*)::int AS n FROM "IntentLabel" l JOIN "Message" m ON m.id = l."messageId" JOIN "Conversation" c ON c.id = m."conversationId" WHERE c."customerId" = $1`,
    [customerId],
  );

/** A customer with one conversation (their message, the bot's reply) whose message staff labelled. */
async function labelledCustomer(text: string) {
  const { socket } = await connectCustomer(server.url);
  const reply = await sendAndWait(socket, { clientMessageId: randomUUID(), text });
  socket.disconnect();
  if (!reply.ack.ok) throw new Error(reply.ack.error.code);
  const { conversationId, messageId } = reply.ack;
  await pool.query(`INSERT INTO "IntentLabel" (id, "messageId", intent, source, "labeledBy") VALUES ($1, $2, 'shipping_time', 'corrected', 'agent@ci')`, [
    randomUUID(),
    messageId,
  ]);
  const { rows } = await pool.query(`SELECT "customerId" FROM "Conversation" WHERE id = $1`, [conversationId]);
  return { customerId: rows[0].customerId as string, conversationId };
}

const oldText = `My parcel ${randomUUID().slice(0, 8)} to Oslo is late, how long does shipping take?`;
const newText = `Is shipping to Lisbon ${randomUUID().slice(0, 8)} slower than usual?`;
let old: { customerId: string; conversationId: string };
let recent: { customerId: string; conversationId: string };

beforeAll(async () => {
  database = await createMigratedDatabase("retention_test");
  server = await startServer({
    DATABASE_URL: database.url,
    LOOPDESK_MODELS_DIR: inject("modelsDir"),
    LM_MAX_NEW_TOKENS: "8",
    CUSTOMER_TOKEN_SECRET: "test-secret-test-secret-test-secret-0123",
  });
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  old = await labelledCustomer(oldText);
  recent = await labelledCustomer(newText);
  // The old customer's chat ended 40 days ago.
  await pool.query(`UPDATE "Conversation" SET "lastMessageAt" = now() - interval '40 days' WHERE id = $1`, [old.conversationId]);
  await pool.query(`UPDATE "Customer" SET "createdAt" = now() - interval '41 days' WHERE id = $1`, [old.customerId]);
  // Two snapshots: one holds the old customer's labelled text, one only the recent customer's.
  mkdirSync(snapshots);
  const row = (text: string, source: string) => JSON.stringify({ text, label: "shipping_time", split: "train", source });
  writeFileSync(path.join(snapshots, "snapshot-aaa.jsonl"), `${row("hello", "seed")}\n${row(oldText.toLowerCase(), "staff")}\n`);
  writeFileSync(path.join(snapshots, "snapshot-aaa.manifest.json"), "{}");
  writeFileSync(path.join(snapshots, "snapshot-bbb.jsonl"), `${row("hello", "seed")}\n${row(newText, "staff")}\n`);
});
afterAll(async () => {
  await pool?.end();
  await server?.stop();
  await database?.drop();
});

describe("loopdesk data purge", () => {
  it("--dry-run counts what would go and deletes nothing", async () => {
    const r = await cli("data", "purge", "--older-than", "30", "--dry-run");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("would delete 1 conversation(s), 2 message(s), 1 intent label(s), 1 customer(s)");
    expect(r.stdout).toContain("snapshot-aaa.jsonl");
    expect(r.stdout).not.toContain("snapshot-bbb");
    expect(await conversationsOf(old.customerId)).toBe(1);
    expect(await labelsOf(old.customerId)).toBe(1);
    expect(existsSync(path.join(snapshots, "snapshot-aaa.jsonl"))).toBe(true);
  });

  it("--older-than deletes old conversations with their messages, labels and snapshots; recent ones stay", async () => {
    const r = await cli("data", "purge", "--older-than", "30");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("deleted 1 conversation(s), 2 message(s), 1 intent label(s), 1 customer(s)");
    expect(await conversationsOf(old.customerId)).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM "Message" WHERE "conversationId" = $1`, [old.conversationId])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM "Message" WHERE text = $1`, [oldText])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM "Customer" WHERE id = $1`, [old.customerId])).toBe(0);
    expect(existsSync(path.join(snapshots, "snapshot-aaa.jsonl"))).toBe(false);
    expect(existsSync(path.join(snapshots, "snapshot-aaa.manifest.json"))).toBe(false);

    expect(await conversationsOf(recent.customerId)).toBe(1);
    expect(await labelsOf(recent.customerId)).toBe(1);
    expect(existsSync(path.join(snapshots, "snapshot-bbb.jsonl"))).toBe(true);

    const { rows } = await pool.query(`SELECT actor, details FROM "AuditLog" WHERE action = 'data.purge' AND subject = 'older-than:30d'`);
    expect(rows).toEqual([{ actor: "privacy@ci", details: { customers: 1, conversations: 1, messages: 2, labels: 1, lmExamples: 0, files: 2 } }]);
  });

  it("--customer also removes the copies outside the data folder: a run's snapshot elsewhere, a model's holdout predictions", async () => {
    const customer = await labelledCustomer(`Can I send a parcel ${randomUUID().slice(0, 8)} to Reykjavik?`);
    const text = (await pool.query(`SELECT text FROM "Message" WHERE "conversationId" = $1 AND role = 'customer'`, [customer.conversationId])).rows[0].text as string;
    const elsewhere = path.join(work, "exports", "snapshot-ccc.jsonl");
    mkdirSync(path.dirname(elsewhere));
    // A malformed line is skipped, not a reason to stop.
    writeFileSync(elsewhere, `{not json\n${JSON.stringify({ text, label: "shipping_time", split: "train", source: "staff" })}\n`);
    const predictions = path.join(models, "classifier", "clf-test", "predictions.jsonl");
    mkdirSync(path.dirname(predictions), { recursive: true });
    const prediction = (t: string) => JSON.stringify({ text: t, label: "shipping_time", pred_int8: "shipping_time" });
    writeFileSync(predictions, `${prediction("where is my order")}\n${prediction(text)}\n`);
    await pool.query(
      `INSERT INTO "TrainingRun" (id, status, device, params, "snapshotPath", "snapshotSha256", "createdBy") VALUES ($1, 'succeeded', 'cpu', '{}', $2, 'x', 'ml@ci')`,
      [randomUUID(), elsewhere],
    );
    await pool.query(`INSERT INTO "ModelVersion" (version, path, metrics, "datasetSha256") VALUES ('clf-test', 'classifier/clf-test', '{}', 'x')`);

    // A copy that cannot be removed (here: a recorded snapshot path that is a folder) stops the purge
    // before any row is deleted, so it can simply be run again.
    const stuck = path.join(work, "exports", "snapshot-bad.jsonl");
    mkdirSync(stuck);
    await pool.query(
      `INSERT INTO "TrainingRun" (id, status, device, params, "snapshotPath", "snapshotSha256", "createdBy") VALUES ($1, 'succeeded', 'cpu', '{}', $2, 'x', 'ml@ci')`,
      [randomUUID(), stuck],
    );
    const failed = await cli("data", "purge", "--customer", customer.customerId);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^error: .*EISDIR/);
    expect(await conversationsOf(customer.customerId)).toBe(1);

    rmSync(stuck, { recursive: true });
    const r = await cli("data", "purge", "--customer", customer.customerId);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`removed purged data from ${elsewhere}`);
    expect(r.stdout).toContain(`removed purged data from ${predictions}`);
    expect(existsSync(elsewhere)).toBe(false);
    expect(readFileSync(predictions, "utf8")).toBe(`${prediction("where is my order")}\n`);
    expect(await conversationsOf(customer.customerId)).toBe(0);
  });

  it("--customer deletes everything of that customer only", async () => {
    const bystander = await labelledCustomer("Do you ship to Iceland?");
    const r = await cli("data", "purge", "--customer", recent.customerId);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("deleted 1 conversation(s), 2 message(s), 1 intent label(s), 1 customer(s)");
    expect(await conversationsOf(recent.customerId)).toBe(0);
    expect(await labelsOf(recent.customerId)).toBe(0);
    expect(existsSync(path.join(snapshots, "snapshot-bbb.jsonl"))).toBe(false);
    expect(await conversationsOf(bystander.customerId)).toBe(1);
    expect(await labelsOf(bystander.customerId)).toBe(1);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "AuditLog" WHERE action = 'data.purge' AND subject = $1`, [`customer:${recent.customerId}`]);
    expect(rows[0].n).toBe(1);
  });

  it.each([
    [["data", "purge"], /exactly one of --older-than/],
    [["data", "purge", "--older-than", "30", "--customer", randomUUID()], /exactly one of --older-than/],
    [["data", "purge", "--customer", "not-an-id"], /must be a customer id/],
    [["data", "purge", "--older-than", "0"], /at least 1 day/],
  ])("refuses %j with one clear line", async (args, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
