/**
 * `npm start` with DATABASE_URL — the web server plus the training worker it supervises — under faults:
 * the worker SIGKILLed mid-run, a trainer printing lines that are not valid JSON, and the database
 * cutting every connection during a run. The trainer is a stand-in (tests/fixtures/slow_trainer.py: NaN
 * losses, then the seed classifier as its output); the real trainer's runs are in ml-runs.test.ts.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunView } from "@/lib/protocol/ml";
import { createModelStore } from "../helpers/model-store";
import { createMigratedDatabase } from "../helpers/postgres";
import { descendantPid } from "../helpers/processes";
import { listeningPort } from "../helpers/server";
import { staffLogin } from "../helpers/staff";
import { until as waitUntil } from "../helpers/wait";

const exec = promisify(execFile);
const ML = { email: "worker-faults@example.com", password: "worker faults password" };
/** `npm start` runs the setup first: seconds when everything is built, more on a busy machine. */
const START_TIMEOUT_MS = 300_000;

let database: Awaited<ReturnType<typeof createMigratedDatabase>>;
let store: ReturnType<typeof createModelStore>;
let start: ChildProcess;
let output = "";
let url: string;
let cookie: string;
const dataDir = mkdtempSync(path.join(os.tmpdir(), "loopdesk-workerfaults-"));

/** Waits for `probe` as tests/helpers/wait.ts does; a failure shows the end of the server's output. */
const until = <T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs: number) =>
  waitUntil(what, probe, timeoutMs, { intervalMs: 250, tolerateErrors: true, detail: () => output.slice(-3000) });

const healthy = async () => (await fetch(`${url}/api/health`)).status === 200;


async function api(urlPath: string, body?: unknown) {
  const res = await fetch(`${url}${urlPath}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { cookie, ...(body === undefined ? {} : { origin: url, "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as { run: RunView };
}

const queueRun = async () => (await api("/api/ml/runs", { device: "cpu", params: { epochs: 1 } })).run;
const getRun = async (id: string) => (await api(`/api/ml/runs/${id}`)).run;
const finished = (id: string, timeoutMs: number) =>
  until(`run ${id} finished`, async () => {
    const run = await getRun(id);
    return ["succeeded", "failed", "cancelled"].includes(run.status) && run;
  }, timeoutMs);

/** The pid of the worker.ts process under `npm start` (its supervisor restarts it with a new one). */
// The training worker, not the language model's process (lib/models/lm-worker.ts), which is a descendant too.
const workerPid = () => descendantPid(start.pid!, /node --import tsx worker\.ts/);

beforeAll(async () => {
  database = await createMigratedDatabase("loopdesk_workerfaults");
  store = createModelStore();
  const env = {
    ...process.env,
    DATABASE_URL: database.url,
    LOOPDESK_MODELS_DIR: store.dir,
    LOOPDESK_DATA_DIR: dataDir,
    CUSTOMER_TOKEN_SECRET: "test-secret-test-secret-test-secret-0123",
    LOOPDESK_TRAINER_SCRIPT: "tests/fixtures/slow_trainer.py",
    SLOW_TRAINER_SECONDS: "8",
    HOST: "127.0.0.1",
    PORT: "0",
    // The "loopdesk listening" line (info) tells the port.
    LOG_LEVEL: "info",
  };
  await exec(process.execPath, ["bin/loopdesk.js", "staff", "create", "--email", ML.email, "--role", "ml"], {
    env: { ...env, LOOPDESK_STAFF_PASSWORD: ML.password },
  });
  // Its own process group, so the whole tree can be stopped at the end.
  start = spawn("bash", ["scripts/start.sh"], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  start.stdout!.on("data", (d) => (output += d));
  start.stderr!.on("data", (d) => (output += d));
  url = `http://127.0.0.1:${await until("npm start listening", async () => listeningPort(output), START_TIMEOUT_MS)}`;
  await until("npm start healthy", healthy, START_TIMEOUT_MS);
  await until("the worker started", workerPid, 60_000);
  cookie = await staffLogin(url, ML.email, ML.password);
}, START_TIMEOUT_MS + 60_000);

afterAll(async () => {
  if (start?.exitCode === null) {
    const exited = new Promise((resolve) => start.once("exit", resolve));
    process.kill(-start.pid!, "SIGTERM");
    await exited;
  }
  await database?.drop();
  store?.remove();
  rmSync(dataDir, { recursive: true, force: true });
});

it("a worker SIGKILLed mid-run: the web stays up, the worker comes back, the run is marked failed and the next one succeeds", async () => {
  const run = await queueRun();
  await until("the run started", async () => (await getRun(run.id)).progress.last, 60_000);
  const killed = (await workerPid())!;
  process.kill(killed, "SIGKILL");

  expect(await healthy()).toBe(true);
  const restarted = await until("a new worker", async () => {
    const pid = await workerPid();
    return pid !== killed && pid;
  }, 30_000);
  expect(output).toMatch(/training worker exited with status 137; restarting in 1s/);
  // The new worker fails the run once its heartbeat is stale (30 s), and the queue moves on.
  const failed = await finished(run.id, 90_000);
  expect(failed.status).toBe("failed");
  expect(failed.error).toMatch(/worker/i);

  const next = await finished((await queueRun()).id, 120_000);
  expect(next.status, next.error ?? "").toBe("succeeded");
  expect(await workerPid()).toBe(restarted);
  expect(await healthy()).toBe(true);
}, 300_000);

it("lines that are not JSON and a database cutting every connection mid-run: the run is recorded, nothing restarts", async () => {
  const worker = await workerPid();
  const run = await queueRun();
  await until("the run started", async () => (await getRun(run.id)).progress.last, 60_000);
  const admin = new pg.Client({ connectionString: database.url.replace(/\/[^/]+$/, "/postgres") });
  await admin.connect();
  try {
    for (let cut = 0; cut < 10; cut++) {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [database.name]);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.end();
  }

  const done = await finished(run.id, 120_000);
  expect(done.status, done.error ?? "").toBe("succeeded");
  // The NaN lines were kept as log lines only: the loss curve holds numbers.
  expect(done.logs).toContain('"loss": NaN');
  expect(done.progress.losses.length).toBeGreaterThan(0);
  expect(done.progress.losses.every((p) => Number.isFinite(p.loss))).toBe(true);
  expect(await workerPid()).toBe(worker);
  expect(await healthy()).toBe(true);
}, 300_000);
