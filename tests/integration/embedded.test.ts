/**
 * The embedded default, started as a user does (`npm start` without DATABASE_URL): PGlite inside the
 * server process, which serves a real chat from it and also runs the training worker (pg-boss on
 * PGlite). A run queued from the console is executed and its outcome recorded; the trainer here is the
 * damaged-output fixture, so the run fails in seconds and nothing is registered.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunView } from "@/lib/protocol/ml";
import { createModelStore } from "../helpers/model-store";
import { connectCustomer, sendAndWait } from "../helpers/chat-client";
import { npmStart, type RunningServer } from "../helpers/server";
import { staffLogin } from "../helpers/staff";

// Nothing may point this file's processes at PostgreSQL: they inherit this environment.
delete process.env.DATABASE_URL;
const dataDir = mkdtempSync(path.join(os.tmpdir(), "loopdesk-embedded-"));
const store = createModelStore();
const env = {
  LOOPDESK_DATA_DIR: dataDir,
  LOOPDESK_MODELS_DIR: store.dir,
  LOOPDESK_TRAINER_SCRIPT: "tests/fixtures/corrupt_trainer.py",
  CUSTOMER_TOKEN_SECRET: "test-secret-test-secret-test-secret-0123",
};
const exec = promisify(execFile);
const ML = { email: "ml-embedded@example.com", password: "ml embedded password" };
let server: RunningServer;

beforeAll(async () => {
  const run = (args: string[], extra: Record<string, string> = {}) =>
    execFileSync(process.execPath, args, { env: { ...process.env, ...env, ...extra }, stdio: ["ignore", "ignore", "inherit"] });
  run(["--import", "tsx", "scripts/migrate.ts", "deploy"]);
  run(["bin/loopdesk.js", "staff", "create", "--email", ML.email, "--role", "ml"], { LOOPDESK_STAFF_PASSWORD: ML.password });
  server = await npmStart(env);
}, 360_000); // npm start runs the setup's checks first

afterAll(async () => {
  await server?.stop();
  store.remove();
  rmSync(dataDir, { recursive: true, force: true });
});

it("serves a chat from the embedded database: the question and the model's reply are stored in it", async () => {
  const { socket } = await connectCustomer(server.url);
  try {
    const reply = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "How long does express shipping take to Germany?" });
    if (!reply.ack.ok) throw new Error(reply.ack.error.code);
    expect(reply.text.length).toBeGreaterThan(0);
    const history = await socket.emitWithAck("chat:history", { conversationId: reply.ack.conversationId });
    if (!history.ok) throw new Error(history.error.code);
    expect(history.messages.map((m) => [m.role, m.replyStatus])).toEqual([
      ["customer", null],
      ["bot", "complete"],
    ]);
    expect(history.messages[1]).toMatchObject({ id: reply.messageId, text: reply.text });
  } finally {
    socket.disconnect();
  }
});

it("queues a run through pg-boss on PGlite and executes it in the server's own worker", async () => {
  const cookie = await staffLogin(server.url, ML.email, ML.password);
  const headers = { cookie, origin: server.url, "content-type": "application/json" };
  const queued = await fetch(`${server.url}/api/ml/runs`, { method: "POST", headers, body: JSON.stringify({ device: "cpu", params: { epochs: 1 } }) });
  expect(queued.status).toBe(202);
  const { run } = (await queued.json()) as { run: RunView };

  let finished: RunView | undefined;
  for (const deadline = Date.now() + 60_000; !finished && Date.now() < deadline; await new Promise((r) => setTimeout(r, 300))) {
    const current = ((await (await fetch(`${server.url}/api/ml/runs/${run.id}`, { headers })).json()) as { run: RunView }).run;
    if (["succeeded", "failed", "cancelled"].includes(current.status)) finished = current;
  }
  expect(finished?.status).toBe("failed");
  expect(finished?.error).toContain("unusable");
  expect(finished?.progress.losses).toHaveLength(1);
  const models = (await (await fetch(`${server.url}/api/ml/models`, { headers })).json()) as { items: { version: string }[] };
  expect(models.items.map((m) => m.version)).toEqual([expect.stringMatching(/^seed-/)]);
});

it("refuses a second process on the embedded database while the server holds it, with a clear message", async () => {
  for (const args of [
    ["bin/loopdesk.js", "data", "purge", "--older-than", "30", "--dry-run"],
    ["--import", "tsx", "scripts/migrate.ts", "deploy"],
  ]) {
    const result = await exec(process.execPath, args, { env: { ...process.env, ...env } }).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code, args.join(" ")).toBe(1);
    expect(result.stderr).toContain(`the embedded database in ${dataDir} is in use by process ${server.process.pid}`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }
  expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
});

it("takes over the lock a killed server left behind", async () => {
  await server.stop("SIGKILL");
  const migrate = await exec(process.execPath, ["--import", "tsx", "scripts/migrate.ts", "deploy"], { env: { ...process.env, ...env } });
  expect(migrate.stdout).toBe("database is up to date\n");
});
