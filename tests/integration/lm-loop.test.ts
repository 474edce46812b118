/**
 * The language model's train-and-serve loop through its real parts and the real CLI: staff write the
 * right answer to a bad reply (API) → `loopdesk dataset export --kind lm` → `loopdesk train --kind lm`
 * (the real trainer on the real base model, CPU, two optimiser steps on a sample of the export) → `loopdesk models promote
 * --kind lm` (the gate asks a few of the reply benchmark's questions of both models through the
 * serving path; forced with a reason when it refuses, and its verdict must follow from its figures)
 * while customers chat over socket.io → the running server swaps, no chat dropped → `models rollback
 * --kind lm`. The two-server swap and a broken version are tests/integration/lm-swap.test.ts.
 */
import { randomUUID } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { LmGateVerdict } from "@/lib/protocol/ml";
import { lmGateVerdict } from "@/lib/training/lm-gate";
import { chatAcrossSwap, connectCustomer, sendAndWait, type ChatClient } from "../helpers/chat-client";
import { staffApi, staffLogin } from "../helpers/staff";
import { loopdeskCli } from "../helpers/cli";
import { until } from "../helpers/wait";

const serverUrl = inject("serverUrl");
const databaseUrl = inject("databaseUrl");
const modelsDir = inject("modelsDir");
process.env.DATABASE_URL = databaseUrl;
const { createStaffUser } = await import("@/lib/auth/session");
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const work = mkdtempSync(path.join(os.tmpdir(), "loopdesk-lm-loop-"));
const snapshot = path.join(work, "lm-snapshot.jsonl");
/** What the test trains on: the staff answer and a sample of the export, so training and its evaluations take seconds, not minutes. */
const sample = path.join(work, "lm-sample.jsonl");
/** The gate asks this many benchmark questions and scores this many held-out examples (the CLI's test-only options); the default is all. */
const GATE_QUESTIONS = 6;
const GATE_HOLDOUT = 4;
const RIGHT_ANSWER = "Express shipping to Germany takes 1-2 business days and costs €9.90.";

const cli = (...args: string[]) => loopdeskCli({ DATABASE_URL: databaseUrl, LOOPDESK_MODELS_DIR: modelsDir, LOOPDESK_DATA_DIR: work, LOOPDESK_ACTOR: "tester@ci" }, args);

type Health = { models: { lm: { version: string }; classifier: { version: string } } };
const health = async (): Promise<Health> => (await fetch(`${serverUrl}/api/health`)).json();
// A server busy loading a model may drop a health check's connection: that is "not yet", not a failure.
const lmVersion = async () => (await health().catch(() => null))?.models.lm.version;


const AGENT_EMAIL = `lm-loop-${randomUUID().slice(0, 8)}@example.com`;
let agent: Promise<void> | undefined;
async function agentCookie() {
  agent ??= createStaffUser({ email: AGENT_EMAIL, name: "LM loop agent", role: "agent", password: "correct horse battery staple" }).then(() => {});
  await agent;
  return staffLogin(serverUrl, AGENT_EMAIL, "correct horse battery staple");
}

let socket: ChatClient;
let stockVersion: string;
let classifierVersion: string;
let candidate: string;
beforeAll(async () => {
  ({ socket } = await connectCustomer(serverUrl));
  ({ lm: { version: stockVersion }, classifier: { version: classifierVersion } } = (await health()).models);
});
afterAll(async () => {
  socket.disconnect();
  await pool.end();
});

describe("the language model's train-and-serve loop", () => {
  it("staff write the right answer to a bad reply; the LM export carries it", async () => {
    const reply = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "how fast is express delivery to germany and what does it cost" });
    expect(reply.text.length).toBeGreaterThan(0);
    const cookie = await agentCookie();
    const marked = await staffApi(serverUrl, `/api/staff/messages/${reply.messageId}/feedback`, { cookie, method: "POST", body: { feedback: "bad" } });
    expect(marked.status, marked.text).toBe(200);
    const saved = await staffApi(serverUrl, `/api/staff/messages/${reply.messageId}/lm-example`, { cookie, method: "POST", body: { answer: RIGHT_ANSWER } });
    expect(saved.status, saved.text).toBe(201);

    const r = await cli("dataset", "export", "--kind", "lm", "--out", snapshot);
    expect(r.code, r.stderr).toBe(0);
    const rows = readFileSync(snapshot, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const staffRow = rows.find((row) => row.messages.at(-1).content === RIGHT_ANSWER);
    expect(staffRow).toMatchObject({ origin: "staff_correction", approved_by: expect.stringContaining(AGENT_EMAIL.split("@")[0]!) });
    expect(rows.filter((row) => row.origin === "seed").length).toBeGreaterThanOrEqual(600);
    const train = rows.filter((row) => row.split === "train" && row !== staffRow).slice(0, 15);
    const holdout = rows.filter((row) => row.split === "holdout" && row !== staffRow).slice(0, 8);
    writeFileSync(sample, [staffRow, ...train, ...holdout].map((row) => `${JSON.stringify(row)}\n`).join(""));
  });

  it("trains an LM candidate with the real trainer and registers it with its frozen questions", async () => {
    const r = await cli("train", "--kind", "lm", "--snapshot", sample, "--device", "cpu", "--max-steps", "2", "--batch-size", "2");
    expect(r.code, r.stderr + r.stdout).toBe(0);
    candidate = /candidate (lm-[0-9a-f]{12}):/.exec(r.stdout)![1]!;
    const { rows } = await pool.query(
      `SELECT r.kind AS "runKind", r.status, r.device, r.metrics, r.logs, v.kind, v.path FROM "TrainingRun" r JOIN "ModelVersion" v ON v."trainingRunId" = r.id WHERE v.version = $1`,
      [candidate],
    );
    expect(rows[0]).toMatchObject({ runKind: "lm", kind: "lm", status: "succeeded", device: "cpu", path: `lm-versions/${candidate}` });
    expect(rows[0].metrics).toMatchObject({ kind: "lm", holdout_perplexity: expect.any(Number), base_holdout_perplexity: expect.any(Number) });
    expect(rows[0].logs).toMatch(/PROGRESS/);
    expect(rows[0].logs).toMatch(/EVAL .*holdout_perplexity/);
    const dir = path.join(modelsDir, "lm-versions", candidate);
    for (const f of ["manifest.json", "onnx/model_quantized.onnx", "tokenizer.json", "reply-bench-questions.json"]) expect(existsSync(path.join(dir, f)), f).toBe(true);
    expect((await cli("models", "list", "--kind", "lm")).stdout).toContain(candidate);
    // The classifier's list is as it was: default kind.
    expect((await cli("models", "list")).stdout).not.toContain(candidate);
  }, 600_000);

  it("registers a trainer output made elsewhere (a GPU machine): copied into the store, checked, never twice", async () => {
    const dir = path.join(modelsDir, "lm-versions", candidate);
    expect((await cli("models", "register", dir, "--kind", "lm")).stderr).toMatch(/^error: .* is registered already/);
    expect((await cli("models", "register", dir)).stderr).toMatch(/^error: register takes language models/);

    // Another model's output folder: here the candidate's files under another version.
    const elsewhere = path.join(work, "trained-on-gpu");
    cpSync(dir, elsewhere, { recursive: true });
    const manifest = JSON.parse(readFileSync(path.join(elsewhere, "manifest.json"), "utf8"));
    writeFileSync(path.join(elsewhere, "manifest.json"), JSON.stringify({ ...manifest, version: "lm-00000000abcd" }));
    const r = await cli("models", "register", elsewhere, "--kind", "lm");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("registered lm-00000000abcd as a candidate");
    expect(existsSync(path.join(modelsDir, "lm-versions", "lm-00000000abcd", "reply-bench-questions.json"))).toBe(true);
    const { rows } = await pool.query(`SELECT kind, path, "trainingRunId" FROM "ModelVersion" WHERE version = 'lm-00000000abcd'`);
    expect(rows).toEqual([{ kind: "lm", path: "lm-versions/lm-00000000abcd", trainingRunId: null }]);
    // Gone again, so "latest" below is still the trained candidate.
    await pool.query(`DELETE FROM "ModelVersion" WHERE version = 'lm-00000000abcd'`);
    rmSync(path.join(modelsDir, "lm-versions", "lm-00000000abcd"), { recursive: true, force: true });
  }, 300_000);

  it("gates the candidate on the reply benchmark and promotes it while chats stream; the server swaps, no chat dropped", async () => {
    let disconnects = 0;
    socket.on("disconnect", () => disconnects++);
    // A customer's pace, not a load test: the gate shares these two cores.
    const { chats, finish } = chatAcrossSwap(socket, "Do you ship to Germany?", 1000);

    let r = await cli("models", "promote", candidate, "--kind", "lm", "--gate-questions", String(GATE_QUESTIONS), "--gate-holdout", String(GATE_HOLDOUT));
    const refused = r.code !== 0;
    if (refused) {
      expect(r.stderr).toMatch(/the gate refused/);
      r = await cli("models", "promote", candidate, "--kind", "lm", "--gate-questions", String(GATE_QUESTIONS), "--gate-holdout", String(GATE_HOLDOUT), "--force", "--reason", "integration test: a two-step model");
      expect(r.stderr).toMatch(/reusing the gate run of/); // the refused run's, not a second one
    }
    expect(r.code, r.stderr).toBe(0);
    await until("the swap", async () => (await lmVersion()) === candidate, 60_000);
    await finish(Date.now());

    // The verdict follows from its figures by the gate's rules, and the refusal (or not) from the verdict.
    const { rows: reports } = await pool.query(`SELECT pass, verdict, replies FROM "LmGateReport" WHERE candidate = $1 ORDER BY "createdAt" DESC`, [candidate]);
    expect(reports).toHaveLength(1);
    const verdict = reports[0].verdict as LmGateVerdict;
    expect(verdict.questions).toBe(GATE_QUESTIONS);
    expect(verdict.holdoutExamples).toBe(GATE_HOLDOUT);
    expect(reports[0].replies).toHaveLength(GATE_QUESTIONS);
    expect(verdict.production.version).toBe(stockVersion);
    expect(verdict.candidate.holdoutPerplexity).toEqual(expect.any(Number));
    const { candidate: c, production: p, ...about } = verdict;
    expect(lmGateVerdict(c, p, { questions: about.questions, questionsSha256: about.questionsSha256, holdoutExamples: about.holdoutExamples })).toEqual(verdict);
    expect(reports[0].pass).toBe(!refused);
    const { rows: deployments } = await pool.query(`SELECT forced, reason, gate FROM "Deployment" WHERE version = $1`, [candidate]);
    expect(deployments[0]).toMatchObject({ forced: refused, gate: { pass: !refused } });

    expect(disconnects).toBe(0);
    expect(chats.every((chat) => chat.ok)).toBe(true);
    const { rows } = await pool.query(`SELECT id, "modelVersion" FROM "Message" WHERE id = ANY($1)`, [chats.map((chat) => chat.replyId)]);
    const byId = new Map(rows.map((row) => [row.id, row.modelVersion]));
    expect(byId.get(chats[0]!.replyId)).toBe(stockVersion);
    expect(byId.get(chats.at(-1)!.replyId)).toBe(candidate);
  }, 600_000);

  it("the ML console shows the LM versions with their gate figures and the side-by-side replies", async () => {
    const email = `lm-loop-ml-${randomUUID().slice(0, 8)}@example.com`;
    await createStaffUser({ email, name: "LM loop ML", role: "ml", password: "correct horse battery staple" });
    const cookie = await staffLogin(serverUrl, email, "correct horse battery staple");
    const report = await staffApi(serverUrl, `/api/ml/models/${candidate}/lm-gate`, { cookie });
    expect(report.status, report.text).toBe(200);
    expect(report.json).toMatchObject({ candidate, production: stockVersion, verdict: { questions: GATE_QUESTIONS } });
    expect(report.json.replies[0]).toMatchObject({ id: expect.any(String), production: { text: expect.any(String) }, candidate: { text: expect.any(String) } });
    const list = await staffApi(serverUrl, "/ml/lm", { cookie });
    expect(list.status).toBe(200);
    expect(list.text).toContain(`lm-row-${candidate}`);
    const page = await staffApi(serverUrl, `/ml/lm/${candidate}`, { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-testid="side-by-side"');
    expect(page.text).toContain(report.json.replies[0].text.replace(/&/g, "&amp;").replace(/'/g, "&#x27;").replace(/"/g, "&quot;").slice(0, 20));
    // The classifier's comparison refuses an LM version (and leaves it usable).
    const comparison = await staffApi(serverUrl, `/api/ml/models/${candidate}/comparison`, { cookie });
    expect(comparison.status).toBe(409);
    expect(comparison.json.error.message).toMatch(/language model version/);
    expect((await pool.query(`SELECT status FROM "ModelVersion" WHERE version = $1`, [candidate])).rows[0].status).toBe("ready");
    // An agent may not see it.
    const agent = await staffApi(serverUrl, `/api/ml/models/${candidate}/lm-gate`, { cookie: await agentCookie() });
    expect(agent.status).toBe(403);
  });

  it("rolls back to the stock model", async () => {
    const r = await cli("models", "rollback", "--kind", "lm", "--reason", "integration test");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`rolled back to ${stockVersion}`);
    await until("the swap back", async () => (await lmVersion()) === stockVersion, 60_000);
    const reply = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "Do you ship to Germany?" });
    const { rows } = await pool.query(`SELECT "modelVersion" FROM "Message" WHERE id = $1`, [reply.messageId]);
    expect(rows[0].modelVersion).toBe(stockVersion);
    // The classifier was never touched by any of it.
    expect((await health()).models.classifier.version).toBe(classifierVersion);
  }, 120_000);
});
