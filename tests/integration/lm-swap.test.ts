/**
 * Language-model hot swap on two running servers sharing one database: a deployment of kind lm
 * (recorded as promotion and rollback record it, then NOTIFY) makes both load, smoke-test and swap the
 * model; replies in flight finish on the model they started with (none fails, though the old model's
 * session is released after the swap); a version that cannot load is refused by each server, which
 * keeps serving the old one and does not mark it failed; /api/health shows both models' versions. Each
 * server runs its language model in a process of its own (lib/models/lm-process.ts): a swap ends the
 * old model's process once its replies are done, and a refused version leaves none behind.
 * The "new" version is the stock model's files under another manifest version (training one is the
 * loop test's job, tests/integration/lm-loop.test.ts).
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatAcrossSwap, connectCustomer, sendAndWait, type ChatClient } from "../helpers/chat-client";
import { createModelStore } from "../helpers/model-store";
import { createMigratedDatabase } from "../helpers/postgres";
import { startServer, type RunningServer } from "../helpers/server";
import { until } from "../helpers/wait";

const STOCK = "lm/smollm2-135m-instruct";
const CANDIDATE = "lm-0123456789ab";
const BROKEN = "lm-badbadbadbad";

let database: Awaited<ReturnType<typeof createMigratedDatabase>>;
let store: ReturnType<typeof createModelStore>;
let pool: pg.Pool;
const servers: RunningServer[] = [];
const sockets: ChatClient[] = [];
let stockVersion: string;

interface Health {
  models: { lm: { id: string; version: string }; classifier: { version: string } };
}
const health = async (s: RunningServer): Promise<Health> => (await fetch(`${s.url}/api/health`)).json();

/** A model folder under lm-versions/ with the stock model's files (linked) and a manifest naming `version`. */
function makeVersion(version: string, files: { brokenOnnx?: boolean } = {}) {
  const stockDir = path.join(store.dir, STOCK);
  const dir = path.join(store.dir, "lm-versions", version);
  mkdirSync(path.join(dir, "onnx"), { recursive: true });
  for (const f of readdirSync(stockDir)) if (f !== "manifest.json" && f !== "onnx") symlinkSync(path.join(stockDir, f), path.join(dir, f));
  if (files.brokenOnnx) writeFileSync(path.join(dir, "onnx/model_quantized.onnx"), "not an onnx model");
  else symlinkSync(path.join(stockDir, "onnx/model_quantized.onnx"), path.join(dir, "onnx/model_quantized.onnx"));
  const manifest = JSON.parse(readFileSync(path.join(stockDir, "manifest.json"), "utf8"));
  writeFileSync(path.join(dir, "manifest.json"), JSON.stringify({ ...manifest, version }));
}

/** Registers and deploys an LM version the way promotion does: a Deployment row, then NOTIFY. */
async function deploy(version: string) {
  await pool.query(
    `INSERT INTO "ModelVersion" (version, kind, path, metrics, "datasetSha256") VALUES ($1, 'lm', $2, '{}', '') ON CONFLICT DO NOTHING`,
    [version, `lm-versions/${version}`],
  );
  await pool.query(`INSERT INTO "Deployment" (id, version, action, actor) VALUES ($1, $2, 'promote', 'tester@ci')`, [randomUUID(), version]);
  await pool.query(`SELECT pg_notify('loopdesk_deployments', $1)`, [version]);
}

/** The language-model processes a server runs now, by their command lines. */
const lmProcesses = (s: RunningServer) =>
  spawnSync("ps", ["-o", "args=", "--ppid", String(s.process.pid)], { encoding: "utf8" }).stdout.split("\n").filter((args) => args.includes("lm-worker.ts"));

// A server busy loading a model may drop a health check's connection: that is "not yet", not a failure.
const allServe = (version: string) => async () =>
  (await Promise.all(servers.map((s) => health(s).catch(() => null)))).every((h) => h?.models.lm.version === version);

beforeAll(async () => {
  database = await createMigratedDatabase("loopdesk_lmswap");
  store = createModelStore();
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  makeVersion(CANDIDATE);
  makeVersion(BROKEN, { brokenOnnx: true });
  const env = {
    DATABASE_URL: database.url,
    LOOPDESK_MODELS_DIR: store.dir,
    LM_MAX_NEW_TOKENS: "24",
    CUSTOMER_TOKEN_SECRET: "lmswap-secret-lmswap-secret-lmswap-0000",
    RATE_LIMIT_CONNECTIONS_PER_IP: "10000",
    RATE_LIMIT_MESSAGES_PER_IP: "10000",
    RATE_LIMIT_MESSAGES_PER_CUSTOMER: "10000",
    LOG_LEVEL: "info",
  };
  // One after the other: both bootstrap the stock model on first start, the second finds it deployed.
  servers.push(await startServer(env));
  servers.push(await startServer(env));
  stockVersion = JSON.parse(readFileSync(path.join(store.dir, STOCK, "manifest.json"), "utf8")).version;
}, 300_000);

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await Promise.all(servers.map((s) => s.stop()));
  await pool?.end();
  await database?.drop();
  store?.remove();
});

describe("language model hot swap", () => {
  it("bootstraps the stock model as the first LM deployment; /api/health shows both models' versions", async () => {
    for (const s of servers) {
      const h = await health(s);
      expect(h.models.lm).toEqual({ id: "smollm2-135m-instruct", version: stockVersion });
      expect(lmProcesses(s)).toEqual([expect.stringContaining(STOCK)]);
      expect(h.models.classifier.version).toMatch(/^seed-/);
    }
    const { rows } = await pool.query(`SELECT v.kind, d.action FROM "Deployment" d JOIN "ModelVersion" v ON v.version = d.version WHERE v.kind = 'lm'`);
    expect(rows[0]).toEqual({ kind: "lm", action: "bootstrap" });
  });

  it("a deployment swaps the LM on every server; replies in flight finish on the model they started with", async () => {
    // Chats back to back on both servers until one has started after every server swapped.
    const chatting = await Promise.all(
      servers.map(async (server) => {
        const { socket } = await connectCustomer(server.url);
        sockets.push(socket);
        return chatAcrossSwap(socket, "How long does express shipping take to Germany?");
      }),
    );
    await new Promise((r) => setTimeout(r, 1500)); // a reply or two on the stock model first
    await deploy(CANDIDATE);
    await until("both servers to swap", allServe(CANDIDATE), 90_000);
    const swappedAt = Date.now();
    await Promise.all(chatting.map((c) => c.finish(swappedAt)));
    const chats = chatting.flatMap((c, server) => c.chats.map((chat) => ({ ...chat, server })));

    expect(chats.every((c) => c.ok)).toBe(true);
    const { rows } = await pool.query(`SELECT id, "modelVersion", "replyStatus" FROM "Message" WHERE id = ANY($1)`, [chats.map((c) => c.replyId)]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(rows.every((r) => r.replyStatus === "complete")).toBe(true);
    for (const server of [0, 1]) {
      const mine = chats.filter((c) => c.server === server);
      expect(byId.get(mine[0]!.replyId).modelVersion).toBe(stockVersion);
      expect(byId.get(mine.at(-1)!.replyId).modelVersion).toBe(CANDIDATE);
    }
    // A reply that was being written while its server swapped finished, on the model it started with.
    const across = chats.filter((c) => c.start < swappedAt && c.end > swappedAt - 1000);
    expect(across.length).toBeGreaterThan(0);
    expect(across.every((c) => [stockVersion, CANDIDATE].includes(byId.get(c.replyId).modelVersion))).toBe(true);
    for (const s of servers) expect(s.output()).toMatch(/language model swapped/);
    // The stock model's process ended once its last reply was done; the candidate's serves.
    await until("the replaced models' processes to end", () => servers.every((s) => lmProcesses(s).length === 1), 30_000);
    for (const s of servers) expect(lmProcesses(s)).toEqual([expect.stringContaining(`lm-versions/${CANDIDATE}`)]);
  }, 240_000);

  it("a version that fails to load is refused by every server, which keeps serving the old one", async () => {
    await deploy(BROKEN);
    await until("both servers to refuse it", () => servers.every((s) => /language model failed to load or smoke-test; keeping the current one/.test(s.output())), 90_000);
    for (const s of servers) {
      expect((await health(s)).models.lm.version).toBe(CANDIDATE);
      const { socket } = await connectCustomer(s.url);
      sockets.push(socket);
      const reply = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "Do you ship to Germany?" });
      expect(reply.text.length).toBeGreaterThan(0);
      const { rows } = await pool.query(`SELECT "modelVersion" FROM "Message" WHERE id = $1`, [reply.messageId]);
      expect(rows[0].modelVersion).toBe(CANDIDATE);
    }
    for (const s of servers) expect(lmProcesses(s)).toEqual([expect.stringContaining(`lm-versions/${CANDIDATE}`)]);
    // One server's trouble is not a verdict on the version for every server.
    const { rows } = await pool.query(`SELECT status FROM "ModelVersion" WHERE version = $1`, [BROKEN]);
    expect(rows[0].status).toBe("ready");
  }, 120_000);

  it("a deployment of the stock model (a rollback) swaps every server back", async () => {
    await pool.query(`INSERT INTO "Deployment" (id, version, action, actor) VALUES ($1, $2, 'rollback', 'tester@ci')`, [randomUUID(), stockVersion]);
    await pool.query(`SELECT pg_notify('loopdesk_deployments', $1)`, [stockVersion]);
    await until("both servers to swap back", allServe(stockVersion), 90_000);
    await until("the candidate's processes to end", () => servers.every((s) => lmProcesses(s).length === 1), 30_000);
    for (const s of servers) expect(lmProcesses(s)).toEqual([expect.stringContaining(STOCK)]);
    for (const s of servers) expect((await health(s)).models.classifier.version).toMatch(/^seed-/);
  }, 120_000);
});
