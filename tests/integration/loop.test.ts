/**
 * The train-and-serve loop through its real parts: staff labels → `loopdesk dataset export` →
 * `loopdesk train` (PyTorch on CPU) → `loopdesk models promote` → the running server swaps the
 * classifier without a restart while chats stream; a corrupt model is refused; rollback.
 */
import { randomUUID } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { chatAcrossSwap, connectCustomer, sendAndWait, type ChatClient } from "../helpers/chat-client";
import { loopdeskCli } from "../helpers/cli";
import { until } from "../helpers/wait";

const serverUrl = inject("serverUrl");
const databaseUrl = inject("databaseUrl");
const modelsDir = inject("modelsDir");
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const work = mkdtempSync(path.join(os.tmpdir(), "loopdesk-loop-"));

const cli = (...args: string[]) => loopdeskCli({ DATABASE_URL: databaseUrl, LOOPDESK_MODELS_DIR: modelsDir, LOOPDESK_DATA_DIR: work, LOOPDESK_ACTOR: "tester@ci" }, args);

async function health(): Promise<{ models: { classifier: { version: string } } }> {
  return (await fetch(`${serverUrl}/api/health`)).json();
}


let socket: ChatClient;
let seedVersion: string;
let candidate: string;
beforeAll(async () => {
  ({ socket } = await connectCustomer(serverUrl));
  seedVersion = (await health()).models.classifier.version;
});
afterAll(async () => {
  socket.disconnect();
  // Every later test file on the shared server expects the seed classifier: put it back if a test
  // failed before the rollback at the end.
  if (seedVersion && (await health()).models.classifier.version !== seedVersion) {
    await cli("models", "promote", seedVersion, "--force", "--reason", "loop.test.ts: restore the seed classifier after a failure");
  }
  await pool.end();
});

describe("the train-and-serve loop", () => {
  const labelled = [
    { text: "my parcel shows delivered but the box was empty", corrected: "delivery_problem" },
    { text: "hello!! anyone there", confirmed: "greeting" },
  ];

  it("classifies every customer message and stores the verdict", async () => {
    for (const l of labelled) await sendAndWait(socket, { clientMessageId: randomUUID(), text: l.text });
    const { rows } = await pool.query(
      `SELECT text, intent, "intentProbability", "runnerUpIntent", "runnerUpProbability", "classifierVersion" FROM "Message" WHERE role = 'customer' AND text = ANY($1)`,
      [labelled.map((l) => l.text)],
    );
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.classifierVersion).toBe(seedVersion);
      expect(r.intentProbability).toBeGreaterThan(r.runnerUpProbability);
      expect(r.intent).not.toBe(r.runnerUpIntent);
    }
  });

  it("exports staff labels as training data, corrections winning", async () => {
    const { rows: messages } = await pool.query(`SELECT id, text, intent FROM "Message" WHERE role = 'customer' AND text = ANY($1)`, [labelled.map((l) => l.text)]);
    for (const m of messages) {
      const l = labelled.find((x) => x.text === m.text)!;
      // A wrong confirmation first, then the correction: the newest label must win.
      await pool.query(`INSERT INTO "IntentLabel" (id, "messageId", intent, source, "labeledBy", "createdAt") VALUES ($1, $2, 'complaint', 'confirmed', 'agent@x', now() - interval '1 minute')`, [randomUUID(), m.id]);
      await pool.query(`INSERT INTO "IntentLabel" (id, "messageId", intent, source, "labeledBy") VALUES ($1, $2, $3, $4, 'agent@x')`, [
        randomUUID(),
        m.id,
        l.corrected ?? l.confirmed,
        l.corrected ? "corrected" : "confirmed",
      ]);
    }
    const out = path.join(work, "snapshot.jsonl");
    const r = await cli("dataset", "export", "--out", out);
    expect(r.code, r.stderr).toBe(0);
    const rows = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    for (const l of labelled) {
      expect(rows.filter((row) => row.text === l.text)).toEqual([expect.objectContaining({ label: l.corrected ?? l.confirmed, source: "staff" })]);
    }
    expect(rows.filter((row) => row.source === "seed").length).toBeGreaterThan(1000);
  });

  it("trains a candidate on CPU and records the run", async () => {
    // Two short epochs: enough for the trainer's int8-vs-fp32 agreement check, quick on 2 cores.
    const r = await cli("train", "--snapshot", path.join(work, "snapshot.jsonl"), "--device", "cpu", "--epochs", "2", "--max-len", "32");
    expect(r.code, r.stderr + r.stdout).toBe(0);
    candidate = /candidate (clf-\S+):/.exec(r.stdout)![1]!;
    const { rows } = await pool.query(
      `SELECT r.status, r.device, r."snapshotSha256", r.metrics, r."durationMs", r.logs FROM "TrainingRun" r JOIN "ModelVersion" v ON v."trainingRunId" = r.id WHERE v.version = $1`,
      [candidate],
    );
    expect(rows[0]).toMatchObject({ status: "succeeded", device: "cpu" });
    expect(rows[0].snapshotSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0].metrics.accuracy).toBeGreaterThan(0.3);
    expect(rows[0].logs).toContain("PROGRESS");
  }, 900_000);

  it("promotion swaps the classifier in the running server while chats stream, dropping none", async () => {
    let disconnects = 0;
    socket.on("disconnect", () => disconnects++);
    const { chats, finish } = chatAcrossSwap(socket, "How long does express shipping take to Germany?");
    const promoted = cli("models", "promote", candidate, "--force", "--reason", "integration test: two-epoch model");
    await until("the swap", async () => (await health()).models.classifier.version === candidate, 120_000);
    const swappedAt = Date.now();
    const r = await promoted;
    await finish(swappedAt);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/gate: (pass|fail)/);

    expect(disconnects).toBe(0);
    expect(chats.every((c) => c.ok)).toBe(true);
    // Chats ran back to back from before the swap until one started after it: none failed or was cut off.
    // (Whether one was in flight at the very moment of the swap depends on the machine's speed; a turn
    // holding the model it started with is what lets such a chat finish.)
    expect(chats.some((c) => c.start < swappedAt)).toBe(true);
    const versions = await pool.query(`SELECT id, "classifierVersion" FROM "Message" WHERE id = ANY($1)`, [chats.map((c) => c.messageId)]);
    const byId = new Map(versions.rows.map((row) => [row.id, row.classifierVersion]));
    expect(byId.get(chats[0]!.messageId)).toBe(seedVersion);
    expect(byId.get(chats.at(-1)!.messageId)).toBe(candidate);

    const { rows } = await pool.query(`SELECT actor, forced, reason, gate FROM "Deployment" WHERE version = $1`, [candidate]);
    expect(rows[0]).toMatchObject({ actor: "tester@ci", reason: "integration test: two-epoch model" });
    expect(rows[0].forced).toBe(!rows[0].gate.pass);
    expect(rows[0].gate.holdoutSize).toBeGreaterThan(100);
  }, 300_000);

  it("a corrupt model is refused: the CLI marks it failed, the server keeps serving the old one", async () => {
    const corrupt = (name: string) => {
      cpSync(path.join(modelsDir, "classifier", candidate), path.join(modelsDir, "classifier", name), { recursive: true });
      writeFileSync(path.join(modelsDir, "classifier", name, "model_int8.onnx"), "this is not an onnx file");
      return pool.query(`INSERT INTO "ModelVersion" (version, path, metrics, "datasetSha256") VALUES ($1, $2, '{}', 'x')`, [name, `classifier/${name}`]);
    };
    await corrupt("corrupt-cli");
    const r = await cli("models", "promote", "corrupt-cli", "--force", "--reason", "test");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot be loaded and was marked failed/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // one line, no stack trace

    // Deployed behind the CLI's back (e.g. the file broke on disk): the server refuses it too.
    await corrupt("corrupt-server");
    await pool.query(`INSERT INTO "Deployment" (id, version, action, actor) VALUES ($1, 'corrupt-server', 'promote', 'tester@ci')`, [randomUUID()]);
    await pool.query(`SELECT pg_notify('loopdesk_deployments', 'corrupt-server')`);
    const status = await until("the server to mark it failed", async () => {
      const { rows } = await pool.query(`SELECT status, "failureReason" FROM "ModelVersion" WHERE version = 'corrupt-server'`);
      return rows[0].status === "failed" ? rows[0] : undefined;
    }, 30_000);
    expect(status.failureReason).toBeTruthy();
    expect((await health()).models.classifier.version).toBe(candidate);
    const reply = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "where is my order NW-100200" });
    expect(reply.text.length).toBeGreaterThan(0);
  });

  it("rollback puts the previous version back", async () => {
    const r = await cli("models", "rollback", "--reason", "test");
    expect(r.code, r.stderr).toBe(0);
    await until("the rollback", async () => (await health()).models.classifier.version === seedVersion, 30_000);
    const list = await cli("models", "list");
    expect(list.stdout).toMatch(new RegExp(`\\* production\\s+${seedVersion}`));
    expect(list.stdout).toMatch(/failed\s+corrupt-cli/);
  });
});
