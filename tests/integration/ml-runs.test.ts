/**
 * Training runs from the ML console through their real parts: the API queues a run in pg-boss, a
 * separate worker process (worker.ts) trains a real MiniLM on CPU, progress streams over the `/ml`
 * socket. A queued run survives a server restart and runs once; cancel works queued and running and
 * registers nothing; a trainer killed like the OOM killer does is recorded as failed.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunEvent, RunView, ServerToMlEvents, MlToServerEvents, WatchAck } from "@/lib/protocol/ml";
import { createModelStore } from "../helpers/model-store";
import { descendantPid } from "../helpers/processes";
import { createMigratedDatabase } from "../helpers/postgres";
import { startServer, type RunningServer } from "../helpers/server";
import { staffLogin } from "../helpers/staff";

const exec = promisify(execFile);
const ML = { email: "ml-runs@example.com", password: "ml runs password" };
const AGENT = { email: "agent-runs@example.com", password: "agent runs password" };
/** Short runs: one epoch, short messages. */
const QUICK = { device: "cpu", params: { epochs: 1, maxLen: 32 } };
/** Real training on 2 shared cores: minutes when the machine is busy. */
const TRAINING_TIMEOUT_MS = 600_000;

let database: Awaited<ReturnType<typeof createMigratedDatabase>>;
let store: ReturnType<typeof createModelStore>;
let env: Record<string, string>;
let server: RunningServer;
let worker: ChildProcess | undefined;
let workerLog = "";
let pool: pg.Pool;
let cookie: string;
const dataDir = mkdtempSync(path.join(os.tmpdir(), "loopdesk-mlruns-"));

function startWorker() {
  worker = spawn(process.execPath, ["--import", "tsx", "worker.ts"], { env: { ...process.env, ...env, LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"] });
  worker.stdout!.on("data", (d) => (workerLog += d));
  worker.stderr!.on("data", (d) => (workerLog += d));
}

async function api(urlPath: string, init: { method?: string; body?: unknown; cookie?: string } = {}) {
  const method = init.method ?? "GET";
  const res = await fetch(`${server.url}${urlPath}`, {
    method,
    headers: { cookie: init.cookie ?? cookie, ...(method === "GET" ? {} : { origin: server.url, "content-type": "application/json" }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

const getRun = async (id: string): Promise<RunView> => (await api(`/api/ml/runs/${id}`)).json.run;

async function waitForRun(id: string, done: (r: RunView) => boolean, timeoutMs = TRAINING_TIMEOUT_MS - 30_000): Promise<RunView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await getRun(id);
    if (done(run)) return run;
    if (Date.now() > deadline) throw new Error(`run ${id} stuck at ${run.status}:\n${workerLog.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
const hasStarted = (r: RunView) => r.status === "running" && r.progress.last !== null;
const isFinished = (r: RunView) => ["succeeded", "failed", "cancelled"].includes(r.status);

/** The pg-boss jobs ever made for a run, finished ones (archived) included. */
async function jobsOf(runId: string): Promise<{ state: string }[]> {
  const { rows } = await pool.query(
    `SELECT state FROM pgboss.job WHERE data->>'runId' = $1 UNION ALL SELECT state FROM pgboss.archive WHERE data->>'runId' = $1`,
    [runId],
  );
  return rows;
}

function leftoversOf(runId: string): string[] {
  return readdirSync(path.join(store.dir, "classifier")).filter((f) => f.includes(runId.slice(0, 6)));
}

beforeAll(async () => {
  database = await createMigratedDatabase("loopdesk_mlruns");
  store = createModelStore();
  env = {
    DATABASE_URL: database.url,
    LOOPDESK_MODELS_DIR: store.dir,
    LOOPDESK_DATA_DIR: dataDir,
    CUSTOMER_TOKEN_SECRET: "test-secret-test-secret-test-secret-0123",
  };
  for (const [who, role] of [
    [ML, "ml"],
    [AGENT, "agent"],
  ] as const) {
    await exec(process.execPath, ["bin/loopdesk.js", "staff", "create", "--email", who.email, "--role", role], {
      env: { ...process.env, ...env, LOOPDESK_STAFF_PASSWORD: who.password },
    });
  }
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  server = await startServer(env);
  cookie = await staffLogin(server.url, ML.email, ML.password);
});

afterAll(async () => {
  worker?.kill("SIGTERM");
  await server?.stop();
  await pool?.end();
  await database?.drop();
  store?.remove();
  rmSync(dataDir, { recursive: true, force: true });
});

async function importFile(filename: string, content: string | Buffer) {
  const res = await fetch(`${server.url}/api/ml/data/import?filename=${encodeURIComponent(filename)}`, {
    method: "POST",
    headers: { cookie, origin: server.url, "content-type": "text/plain" },
    body: new Uint8Array(Buffer.from(content)),
  });
  return { status: res.status, json: (await res.json()) as any };
}

const countExamples = async () => (await pool.query(`SELECT count(*)::int AS n FROM "TrainingExample"`)).rows[0].n as number;

describe("the dataset API", () => {
  it("counts examples per intent and source, and warns about thin, conflicting and unpredicted labels", async () => {
    const summary = (await api("/api/ml/data")).json;
    expect(summary.intents).toHaveLength(20);
    expect(summary.totals.seed).toBeGreaterThan(1000);
    expect(summary.intents.every((i: { seed: number; total: number }) => i.seed >= 20 && i.total === i.seed)).toBe(true);
    expect(summary.warnings).toEqual([]);

    // A staff label that disagrees with a seed example of the same text.
    const seedRow = (await pool.query(`SELECT text, label FROM "TrainingExample" WHERE label = 'order_status' LIMIT 1`)).rows[0];
    await pool.query(`INSERT INTO "Customer" (id) VALUES (gen_random_uuid())`);
    const conv = await pool.query(`INSERT INTO "Conversation" (id, "customerId") SELECT gen_random_uuid(), id FROM "Customer" LIMIT 1 RETURNING id`);
    const msg = await pool.query(`INSERT INTO "Message" (id, "conversationId", role, text) VALUES (gen_random_uuid(), $1, 'customer', $2) RETURNING id`, [
      conv.rows[0].id,
      seedRow.text.toUpperCase(),
    ]);
    await pool.query(`INSERT INTO "IntentLabel" (id, "messageId", intent, source, "labeledBy") VALUES (gen_random_uuid(), $1, 'complaint', 'corrected', 'agent@x')`, [msg.rows[0].id]);

    const imported = await importFile("gift-cards.csv", `text,label\n${[1, 2, 3, 4, 5, 6].map((n) => `can I buy gift card number ${n},gift_cards`).join("\n")}\n`);
    expect(imported.status, JSON.stringify(imported.json)).toBe(200);
    expect(imported.json.report).toMatchObject({ inserted: 6, errors: [] });

    const after = (await api("/api/ml/data")).json;
    expect(after.intents.find((i: { intent: string }) => i.intent === "gift_cards")).toMatchObject({ import: 6, total: 6 });
    expect(after.intents.find((i: { intent: string }) => i.intent === "complaint").staff).toBe(1);
    const codes = after.warnings.map((w: { code: string; intent: string | null }) => `${w.code}:${w.intent ?? ""}`);
    expect(codes).toEqual(expect.arrayContaining(["too_few_examples:gift_cards", "never_predicted:gift_cards", "conflicting_labels:"]));
  });

  it("refuses a bad or oversized file whole, with the CLI's validation", async () => {
    const before = await countExamples();
    const bad = await importFile("bad.csv", `text,label\nfine text,returns_refunds\n,returns_refunds\nsomething,Not A Label\n`);
    expect(bad.status).toBe(422);
    expect(bad.json.error.code).toBe("invalid_dataset");
    expect(bad.json.report.errors.map((e: { code: string; line: number }) => `${e.line}:${e.code}`)).toEqual(["3:empty_text", "4:invalid_label"]);
    expect((await importFile("notes.txt", "text,label\n")).json.error.code).toBe("unsupported_format");
    expect((await importFile("../../etc/passwd.csv", "text,label\n")).status).toBe(400);
    const huge = await importFile("huge.csv", Buffer.alloc(21 * 1024 * 1024, "a"));
    expect(huge.status).toBe(413);
    expect(huge.json.error.code).toBe("payload_too_large");
    expect(await countExamples()).toBe(before);
  });

  it("downloads a snapshot of all labelled data", async () => {
    const res = await fetch(`${server.url}/api/ml/data/snapshot`, { headers: { cookie } });
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="snapshot-[0-9a-f]{12}\.jsonl"$/);
    const rows = (await res.text()).trim().split("\n").map((l) => JSON.parse(l));
    expect(rows.length).toBe(await countExamples());
    expect(rows[0]).toEqual({ text: expect.any(String), label: expect.any(String), split: expect.stringMatching(/^(train|holdout)$/), source: expect.any(String) });
  });
});

describe("the production panel", () => {
  it("reports intents, confidence, handoffs and bad replies from logged chats", async () => {
    const { connectCustomer, sendAndWait } = await import("../helpers/chat-client");
    const before = (await api("/api/ml/production?window=day")).json;
    const { socket } = await connectCustomer(server.url);
    const answered = await sendAndWait(socket, { clientMessageId: crypto.randomUUID(), text: "where is my order? it has not arrived" });
    const second = await sendAndWait(socket, { clientMessageId: crypto.randomUUID(), conversationId: answered.ack.ok ? answered.ack.conversationId : undefined, text: "I want to talk to a human" });
    socket.disconnect();
    expect(second.ack.ok).toBe(true);
    const agentCookie = await staffLogin(server.url, AGENT.email, AGENT.password);
    const marked = await api(`/api/staff/messages/${answered.messageId}/feedback`, { method: "POST", body: { feedback: "bad" }, cookie: agentCookie });
    expect(marked.status).toBe(200);

    const stats = (await api("/api/ml/production?window=day")).json;
    const grew = (key: string) => stats[key] - before[key];
    expect(stats.window).toBe("day");
    expect(["customerMessages", "conversations", "handedOver", "botReplies", "badReplies"].map(grew)).toEqual([2, 1, 1, 2, 1]);
    expect(stats.badReplyShare).toBe(stats.badReplies / stats.botReplies);
    const classified = (s: { intents: { count: number }[] }) => s.intents.reduce((n, i) => n + i.count, 0);
    expect(classified(stats) - classified(before)).toBe(2);
    expect(stats.intents.map((i: { intent: string }) => i.intent)).toContain("talk_to_human");
    expect(stats.meanConfidence).toBeGreaterThan(0);
    expect((await api("/api/ml/production?window=year")).json.error.code).toBe("invalid_payload");
  });
});

describe("training runs from the console", () => {
  let firstVersion: string;

  it("a run queued before a server restart runs exactly once in the worker, streaming its progress", async () => {
    const queued = await api("/api/ml/runs", { method: "POST", body: QUICK });
    expect(queued.status).toBe(202);
    expect(queued.json.run).toMatchObject({ status: "queued", device: "cpu", params: QUICK.params, createdBy: ML.email });
    const runId: string = queued.json.run.id;

    await server.stop("SIGKILL");
    server = await startServer(env);
    expect((await getRun(runId)).status).toBe("queued");

    const socket: Socket<ServerToMlEvents, MlToServerEvents> = io(`${server.url}/ml`, { forceNew: true, transports: ["websocket"], extraHeaders: { cookie } });
    const events: RunEvent[] = [];
    socket.on("run:event", (e) => events.push(e));
    const ack = await new Promise<WatchAck>((resolve) => socket.emit("run:watch", { runId }, resolve));
    expect(ack).toMatchObject({ ok: true, run: { id: runId, status: "queued" } });

    startWorker();
    const run = await waitForRun(runId, isFinished);
    socket.disconnect();
    expect(run.status, run.error ?? "").toBe("succeeded");
    expect(run.modelVersion).toMatch(/^clf-/);
    firstVersion = run.modelVersion!;
    expect(run.progress.losses.length).toBeGreaterThan(0);
    expect(run.progress.evals).toHaveLength(1);
    expect(run.logs).toContain("PROGRESS");

    // Live: the watcher saw it start, move, evaluate and finish.
    const types = events.map((e) => (e.type === "status" ? `status:${e.status}` : e.type));
    expect(types).toContain("status:running");
    expect(types).toContain("progress");
    expect(types).toContain("eval");
    expect(types.at(-1)).toBe("status:succeeded");

    expect(await jobsOf(runId)).toEqual([{ state: "completed" }]);
    const { rows } = await pool.query(`SELECT version FROM "ModelVersion" WHERE "trainingRunId" = $1`, [runId]);
    expect(rows).toEqual([{ version: firstVersion }]);
  }, TRAINING_TIMEOUT_MS);

  it("cancel: a queued run never starts, a running one stops, and neither registers anything", async () => {
    const running = (await api("/api/ml/runs", { method: "POST", body: { device: "cpu", params: { epochs: 3, maxLen: 32 } } })).json.run as RunView;
    const waiting = (await api("/api/ml/runs", { method: "POST", body: QUICK })).json.run as RunView;
    await waitForRun(running.id, hasStarted);
    // One run at a time: the second waits while the first trains.
    expect((await getRun(waiting.id)).status).toBe("queued");

    const cancelledWaiting = await api(`/api/ml/runs/${waiting.id}/cancel`, { method: "POST" });
    expect(cancelledWaiting.json.run).toMatchObject({ status: "cancelled", startedAt: null });
    const cancelRunning = await api(`/api/ml/runs/${running.id}/cancel`, { method: "POST" });
    expect(cancelRunning.json.run).toMatchObject({ status: "running", cancelRequested: true });
    const stopped = await waitForRun(running.id, isFinished, 60_000);
    expect(stopped.status).toBe("cancelled");
    expect((await api(`/api/ml/runs/${running.id}/cancel`, { method: "POST" })).json.error.code).toBe("invalid_state");

    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "ModelVersion" WHERE "trainingRunId" = ANY($1::uuid[])`, [[running.id, waiting.id]]);
    expect(rows[0].n).toBe(0);
    expect(leftoversOf(running.id)).toEqual([]);
    expect((await getRun(waiting.id)).startedAt).toBeNull();
    expect((await jobsOf(waiting.id)).map((j) => j.state)).toEqual(["cancelled"]);
    const audit = await pool.query(`SELECT action, actor FROM "AuditLog" WHERE subject = ANY($1) AND action = 'training.cancelled'`, [[running.id, waiting.id]]);
    expect(audit.rows).toHaveLength(2);
    expect(audit.rows.every((r) => r.actor === ML.email)).toBe(true);
  }, TRAINING_TIMEOUT_MS);

  it("a trainer killed mid-run (as the OOM killer does) is recorded as failed; nothing is promoted", async () => {
    const before = (await (await fetch(`${server.url}/api/health`)).json()).models.classifier.version;
    const run = (await api("/api/ml/runs", { method: "POST", body: { device: "cpu", params: { epochs: 3, maxLen: 32 } } })).json.run as RunView;
    await waitForRun(run.id, hasStarted);
    // This worker's trainer, found under the worker's pid: a pattern alone could hit another run's trainer.
    const trainer = await descendantPid(worker!.pid!, /training\.train\b/);
    if (!trainer) throw new Error("the trainer process was not found under the worker");
    process.kill(trainer, "SIGKILL");
    const failed = await waitForRun(run.id, isFinished, 60_000);
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain("SIGKILL");
    expect(failed.modelVersion).toBeNull();
    expect(leftoversOf(run.id)).toEqual([]);
    expect((await (await fetch(`${server.url}/api/health`)).json()).models.classifier.version).toBe(before);

  }, TRAINING_TIMEOUT_MS);

  it("a trainer whose output does not load is recorded as failed and registers nothing (the CLI's run)", async () => {
    const cli = await exec(process.execPath, ["bin/loopdesk.js", "train", "--device", "cpu"], {
      env: { ...process.env, ...env, LOOPDESK_TRAINER_SCRIPT: "tests/fixtures/corrupt_trainer.py", LOOPDESK_ACTOR: ML.email },
    }).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/failed: the trained model is unusable/);
    const { rows } = await pool.query(`SELECT id, status, error FROM "TrainingRun" ORDER BY "createdAt" DESC LIMIT 1`);
    expect(rows[0]).toMatchObject({ status: "failed", error: expect.stringContaining("unusable") });
    expect((await pool.query(`SELECT 1 FROM "ModelVersion" WHERE "trainingRunId" = $1`, [rows[0].id])).rowCount).toBe(0);
    expect(leftoversOf(rows[0].id)).toEqual([]);
  });

  it("the models API lists the candidates, compares one with production, and promotes it", async () => {
    const models = (await api("/api/ml/models")).json.items as { version: string; production: boolean; calibration: unknown }[];
    expect(models.find((m) => m.production)?.version).toMatch(/^seed-/);
    expect(models.map((m) => m.version)).toContain(firstVersion);
    // The trainer fitted a temperature on the snapshot's holdout (the product's snapshots have no validation split).
    expect(models.find((m) => m.version === firstVersion)?.calibration).toMatchObject({
      fittedOn: "holdout",
      temperature: expect.any(Number),
      eceBefore: expect.any(Number),
      eceAfter: expect.any(Number),
    });
    const page = await fetch(`${server.url}/ml/models/${firstVersion}`, { headers: { cookie } });
    expect(await page.text()).toMatch(/Expected calibration error[\s\S]*before[\s\S]*after temperature scaling/);

    const comparison = (await api(`/api/ml/models/${firstVersion}/comparison`)).json;
    expect(comparison.candidate).toBe(firstVersion);
    expect(comparison.verdict.holdoutSize).toBeGreaterThan(100);
    expect(comparison.candidateConfusion.matrix.length).toBe(comparison.candidateConfusion.labels.length);

    const refusedWithoutReason = await api(`/api/ml/models/${firstVersion}/promote`, { method: "POST", body: { force: true } });
    expect(refusedWithoutReason.status).toBe(400);
    const promoted = await api(`/api/ml/models/${firstVersion}/promote`, { method: "POST", body: { force: true, reason: "integration test" } });
    expect(promoted.status, JSON.stringify(promoted.json)).toBe(200);
    expect(promoted.json.version).toBe(firstVersion);
    const deadline = Date.now() + 30_000;
    while ((await (await fetch(`${server.url}/api/health`)).json()).models.classifier.version !== firstVersion) {
      if (Date.now() > deadline) throw new Error("the server did not swap to the promoted version");
      await new Promise((r) => setTimeout(r, 200));
    }
    const audit = (await api("/api/ml/audit")).json.items as { action: string; actor: string; subject: string }[];
    expect(audit).toContainEqual(expect.objectContaining({ action: "model.promote", actor: ML.email, subject: firstVersion }));

    const back = await api("/api/ml/models/rollback", { method: "POST", body: { reason: "back to the seed" } });
    expect(back.json.version).toMatch(/^seed-/);
  });

  it("the /ml socket refuses staff without the ML role", async () => {
    const agentCookie = await staffLogin(server.url, AGENT.email, AGENT.password);
    const socket = io(`${server.url}/ml`, { forceNew: true, transports: ["websocket"], extraHeaders: { cookie: agentCookie } });
    const err = await new Promise<Error & { data?: { code: string } }>((resolve) => socket.on("connect_error", resolve));
    socket.disconnect();
    expect(err.data?.code, `${err.message} ${JSON.stringify(err.data)}`).toBe("forbidden");
  });
});
