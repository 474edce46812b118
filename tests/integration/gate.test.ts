/**
 * The promotion gate refusing, through the real CLI and the ML console's API on the shared server:
 * a candidate that regresses macro-F1 and one that regresses a single intent are each refused with
 * the reason shown, and nothing is deployed. (Promotions that pass, or are forced, are in loop.test.ts.)
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { REFUSED, registerRefusedCandidates } from "../helpers/gate-candidates";
import { staffApi, staffLogin } from "../helpers/staff";

const run = promisify(execFile);
const serverUrl = inject("serverUrl");
const databaseUrl = inject("databaseUrl");
const modelsDir = inject("modelsDir");
const ML = { email: "gate-ml@example.com", password: "gate ml password" };
const dataDir = mkdtempSync(path.join(os.tmpdir(), "loopdesk-gate-"));
const env = { ...process.env, DATABASE_URL: databaseUrl, LOOPDESK_MODELS_DIR: modelsDir, LOOPDESK_DATA_DIR: dataDir, LOOPDESK_ACTOR: ML.email };
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
let cookie: string;

async function promoteWithCli(version: string) {
  return run(process.execPath, ["bin/loopdesk.js", "models", "promote", version], { env }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

const deploymentsOf = async (version: string) => (await pool.query(`SELECT count(*)::int AS n FROM "Deployment" WHERE version = $1`, [version])).rows[0].n as number;
const serving = async () => ((await (await fetch(`${serverUrl}/api/health`)).json()) as { models: { classifier: { version: string } } }).models.classifier.version;

beforeAll(async () => {
  await registerRefusedCandidates(modelsDir, databaseUrl);
  await run(process.execPath, ["bin/loopdesk.js", "staff", "create", "--email", ML.email, "--role", "ml"], { env: { ...env, LOOPDESK_STAFF_PASSWORD: ML.password } });
  cookie = await staffLogin(serverUrl, ML.email, ML.password);
});

afterAll(async () => {
  // Other files on the shared server promote "latest": leave no candidate behind.
  await pool.query(`DELETE FROM "ModelVersion" WHERE version = ANY($1)`, [[REFUSED.rotated, REFUSED.oneIntent]]);
  for (const version of [REFUSED.rotated, REFUSED.oneIntent]) rmSync(path.join(modelsDir, "classifier", version), { recursive: true, force: true });
  await pool.end();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the CLI", () => {
  it("refuses a candidate whose macro-F1 drops, saying by how much, and deploys nothing", async () => {
    const before = await serving();
    const r = await promoteWithCli(REFUSED.rotated);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: the gate refused ${REFUSED.rotated}:\\n  macro-F1 drops \\d+\\.\\d points \\(\\d+\\.\\d → \\d+\\.\\d\\); at most 1\\.0 allowed`));
    expect(r.stderr).toContain("(use --force with --reason to override)");
    expect(await deploymentsOf(REFUSED.rotated)).toBe(0);
    expect(await serving()).toBe(before);
  });

  it("refuses a candidate that regresses one intent, naming that intent alone", async () => {
    const r = await promoteWithCli(REFUSED.oneIntent);
    expect(r.code).toBe(1);
    const intentReasons = r.stderr.split("\n").filter((line) => /^ {2}\w+: F1 drops/.test(line));
    expect(intentReasons).toEqual([expect.stringMatching(new RegExp(`^  ${REFUSED.intent}: F1 drops \\d+\\.\\d points \\(\\d+\\.\\d → 0\\.0, \\d+ examples\\)$`))]);
    expect(await deploymentsOf(REFUSED.oneIntent)).toBe(0);
  });
});

describe("the ML console", () => {
  it("shows the refusal and its reasons in the comparison, and the API refuses to promote without an override", async () => {
    const compare = await staffApi(serverUrl, `/api/ml/models/${REFUSED.oneIntent}/comparison`, { cookie });
    expect(compare.status, compare.text).toBe(200);
    expect(compare.json.verdict.pass).toBe(false);
    expect(compare.json.verdict.reasons).toContainEqual(expect.stringMatching(new RegExp(`^${REFUSED.intent}: F1 drops`)));
    expect(compare.json.verdict.perIntent.filter((i: { regression: boolean }) => i.regression).map((i: { intent: string }) => i.intent)).toEqual([REFUSED.intent]);

    for (const version of [REFUSED.rotated, REFUSED.oneIntent]) {
      const promote = await staffApi(serverUrl, `/api/ml/models/${version}/promote`, { cookie, method: "POST", body: {} });
      expect(promote.status).toBe(409);
      expect(promote.json.error.code).toBe("gate_refused");
      expect(promote.json.error.message).toContain(`the gate refused ${version}`);
      expect(await deploymentsOf(version)).toBe(0);
    }
  });
});
