/**
 * Shadow before promotion through the real parts: `loopdesk models shadow` (a process of its own) puts
 * a real ONNX classifier version in shadow, both running servers (the shared one and a second on the same
 * database) learn it over NOTIFY and classify every live message (real socket.io customers) with it
 * too, without changing a reply; disagreements
 * reach the ML console's queue, a staff label from it becomes training data, promoting from shadow
 * deploys the version and ends the shadow, and `--off` stops it.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectCustomer, sendAndWait, type ChatClient } from "../helpers/chat-client";
import { loopdeskCli } from "../helpers/cli";
import { registerLabelVariants, rotateLabels } from "../helpers/gate-candidates";
import { startServer, type RunningServer } from "../helpers/server";
import { staffApi, staffLogin } from "../helpers/staff";
import { until } from "../helpers/wait";

const serverUrl = inject("serverUrl");
const databaseUrl = inject("databaseUrl");
const modelsDir = inject("modelsDir");
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const work = mkdtempSync(path.join(os.tmpdir(), "loopdesk-shadow-"));
const ML = { email: "shadow-ml@example.com", password: "shadow ml password" };
const cli = (...args: string[]) => loopdeskCli({ DATABASE_URL: databaseUrl, LOOPDESK_MODELS_DIR: modelsDir, LOOPDESK_DATA_DIR: work, LOOPDESK_ACTOR: ML.email }, args);

/** Disagrees with the seed on every message; agrees on every one; has no model file. */
const V = { rotated: "shadow-rotated", copy: "shadow-copy", broken: "shadow-broken" } as const;

interface Health {
  models: { classifier: { version: string }; shadow: { version: string | null; refused: string[] } };
}
const health = async (url = serverUrl): Promise<Health> => (await fetch(`${url}/api/health`)).json();
/** A second server on the same database: shadow state reaches it as it reaches the shared one. */
let second: RunningServer;
const shadowing = (version: string | null) =>
  until(
    `both servers to shadow ${version ?? "nothing"}`,
    async () => (await Promise.all([serverUrl, second.url].map(health))).every((h) => h.models.shadow.version === version),
    30_000,
  );

/** The stored turn of `text` sent as the first message of a new conversation: the customer message's verdict and the bot's reply. */
async function chat(socket: ChatClient, text: string) {
  const reply = await sendAndWait(socket, { clientMessageId: randomUUID(), text });
  expect(reply.ack.ok).toBe(true);
  const messageId = (reply.ack as { messageId: string }).messageId;
  const { rows } = await pool.query(
    `SELECT c.intent, c."classifierVersion", b.text AS "replyText", b.decision FROM "Message" c JOIN "Message" b ON b."replyToId" = c.id WHERE c.id = $1`,
    [messageId],
  );
  return { messageId, ...(rows[0] as { intent: string; classifierVersion: string; replyText: string; decision: string }) };
}

const shadowRows = async (messageIds: string[]) =>
  (await pool.query(`SELECT * FROM "ShadowPrediction" WHERE "messageId" = ANY($1) ORDER BY "createdAt"`, [messageIds])).rows;

/** Small talk (a template reply) and two help-centre answers written by the language model. */
const TEXTS = ["hello there", "where is my order NW-100200", "how do I return my kettle"];

let socket: ChatClient;
let cookie: string;
let seedVersion: string;
let baseline: Awaited<ReturnType<typeof chat>>[];
beforeAll(async () => {
  second = await startServer({
    DATABASE_URL: databaseUrl,
    LOOPDESK_MODELS_DIR: modelsDir,
    LM_MAX_NEW_TOKENS: "24",
    LM_DEGRADE_WAIT_MS: "0",
    CUSTOMER_TOKEN_SECRET: "test-secret-test-secret-test-secret-0123",
  });
  ({ socket } = await connectCustomer(serverUrl));
  seedVersion = (await health()).models.classifier.version;
  await registerLabelVariants(modelsDir, databaseUrl, [
    [V.rotated, rotateLabels],
    [V.copy, (labels) => labels],
    [V.broken, (labels) => labels],
  ]);
  rmSync(path.join(modelsDir, "classifier", V.broken, "model_int8.onnx"));
  const created = await loopdeskCli({ DATABASE_URL: databaseUrl, LOOPDESK_STAFF_PASSWORD: ML.password }, ["staff", "create", "--email", ML.email, "--role", "ml"]);
  expect(created.code, created.stderr).toBe(0);
  cookie = await staffLogin(serverUrl, ML.email, ML.password);
  // Each text's turn with nothing in shadow, to compare with the same turn while a version shadows.
  baseline = [];
  for (const text of TEXTS) baseline.push(await chat(socket, text));
});

afterAll(async () => {
  socket.disconnect();
  await second?.stop();
  // Every later test file on the shared server expects the seed classifier and no shadow.
  await cli("models", "shadow", "--off");
  if (seedVersion && (await health()).models.classifier.version !== seedVersion) {
    await cli("models", "promote", seedVersion, "--force", "--reason", "shadow.test.ts: restore the seed classifier");
    await until("the seed classifier back", async () => (await health()).models.classifier.version === seedVersion, 60_000);
  }
  // Other files list versions and promote "latest": leave none of these behind.
  const versions = Object.values(V);
  await pool.query(`DELETE FROM "Deployment" WHERE version = ANY($1)`, [versions]);
  await pool.query(`DELETE FROM "ModelVersion" WHERE version = ANY($1)`, [versions]);
  for (const version of versions) rmSync(path.join(modelsDir, "classifier", version), { recursive: true, force: true });
  await pool.end();
  rmSync(work, { recursive: true, force: true });
});

describe("shadow before promotion", () => {
  it("a version that cannot be loaded is reported, and nothing changes", async () => {
    const r = await cli("models", "shadow", V.broken);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: ${V.broken} cannot be loaded, so it was not put in shadow \\(nothing is shadowed\\): `));
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect((await pool.query(`SELECT count(*)::int AS n FROM "ShadowDeployment"`)).rows[0].n).toBe(0);
    expect((await pool.query(`SELECT status FROM "ModelVersion" WHERE version = $1`, [V.broken])).rows[0].status).toBe("ready");
    expect(await health()).toMatchObject({ models: { classifier: { version: seedVersion }, shadow: { version: null, refused: [] } } });
    expect((await staffApi(serverUrl, "/api/ml/shadow", { cookie })).json).toEqual({ shadow: null });
  });

  it("the CLI refuses what cannot be shadowed, with one clear line", async () => {
    for (const [args, message] of [
      [["no-such-version"], /^error: no model version no-such-version\n$/],
      [[seedVersion], /^error: .* is in production: shadow a candidate instead\n$/],
      [[V.copy, "--off"], /^error: give a version or --off, not both\n$/],
      [["--off"], /^error: nothing is in shadow\n$/],
    ] as const) {
      const r = await cli("models", "shadow", ...args);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    const status = await cli("models", "shadow");
    expect(status.code).toBe(0);
    expect(status.stdout).toBe("nothing is in shadow\n");
  });

  let shadowed: Awaited<ReturnType<typeof chat>>[];
  it("a version in shadow classifies every live message, and no reply changes", async () => {
    const r = await cli("models", "shadow", V.rotated);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${V.rotated} is in shadow`);
    await shadowing(V.rotated);

    shadowed = [];
    for (const text of TEXTS) shadowed.push(await chat(socket, text));
    for (const [i, turn] of shadowed.entries()) {
      const { messageId: _, ...before } = baseline[i]!;
      const { messageId: __, ...now } = turn;
      expect(now, TEXTS[i]).toEqual(before); // production's verdict, the decision and the reply's text
      expect(now.classifierVersion).toBe(seedVersion);
    }
    const rows = await until("both verdicts stored", async () => {
      const found = await shadowRows(shadowed.map((t) => t.messageId));
      return found.length === TEXTS.length ? found : undefined;
    }, 30_000);
    for (const row of rows) {
      const turn = shadowed.find((t) => t.messageId === row.messageId)!;
      expect(row).toMatchObject({ shadowVersion: V.rotated, productionVersion: seedVersion, productionIntent: turn.intent, agrees: false });
      expect(row.shadowIntent).not.toBe(turn.intent);
      expect(row.shadowProbability).toBeGreaterThan(0);
    }
    // The messages sent before the shadow started were never classified by it.
    expect(await shadowRows(baseline.map((t) => t.messageId))).toEqual([]);

    // A customer of the other server: shadowed there too.
    const { socket: elsewhere } = await connectCustomer(second.url);
    try {
      const turn = await chat(elsewhere, "hello there");
      expect(turn.classifierVersion).toBe(seedVersion);
      const [row] = await until("the second server's shadow verdict", async () => {
        const found = await shadowRows([turn.messageId]);
        return found.length === 1 ? found : undefined;
      }, 30_000);
      expect(row).toMatchObject({ shadowVersion: V.rotated, productionIntent: turn.intent, agrees: false });
      shadowed.push(turn);
    } finally {
      elsewhere.disconnect();
    }
  });

  it("the console shows the live agreement, the intents they disagree on most and the queue", async () => {
    const { status, json } = await staffApi(serverUrl, "/api/ml/shadow", { cookie });
    expect(status).toBe(200);
    const shadow = json.shadow;
    expect(shadow).toMatchObject({ version: V.rotated, actor: ML.email, production: seedVersion });
    expect(shadow.stats).toMatchObject({ version: V.rotated, messages: shadowed.length, agreements: 0, agreement: 0 });
    const intents = [...new Set(shadowed.map((t) => t.intent))];
    expect(shadow.stats.disagreeing.map((d: { intent: string }) => d.intent).sort()).toEqual(intents.sort());
    for (const d of shadow.stats.disagreeing) expect(d).toMatchObject({ rate: 1, disagreements: d.messages });
    expect(shadow.queue.map((q: { messageId: string }) => q.messageId).sort()).toEqual(shadowed.map((t) => t.messageId).sort());
    expect(shadow.intents).toEqual(expect.arrayContaining(intents));

    const printed = await cli("models", "shadow");
    expect(printed.stdout).toContain(`${V.rotated} in shadow since`);
    expect(printed.stdout).toContain(`shadow: ${shadowed.length} live message(s), agreement with production 0.0%`);
  });

  it("a staff label from the queue becomes a training example and leaves the queue", async () => {
    const { json } = await staffApi(serverUrl, "/api/ml/shadow", { cookie });
    const item = json.shadow.queue.find((q: { text: string }) => q.text === TEXTS[1]);
    const label = await staffApi(serverUrl, `/api/ml/shadow/queue/${item.messageId}/label`, { cookie, method: "POST", body: { intent: item.productionIntent } });
    expect(label.status, label.text).toBe(200);
    const unknown = await staffApi(serverUrl, `/api/ml/shadow/queue/${item.messageId}/label`, { cookie, method: "POST", body: { intent: "no_such_intent" } });
    expect(unknown.status).toBe(400);

    const after = (await staffApi(serverUrl, "/api/ml/shadow", { cookie })).json.shadow;
    expect(after.queue.map((q: { messageId: string }) => q.messageId)).not.toContain(item.messageId);
    expect(after.stats.labelled).toEqual({ disagreements: 1, shadowRight: 0, productionRight: 1 });
    const { rows } = await pool.query(`SELECT intent, source, "labeledBy" FROM "IntentLabel" WHERE "messageId" = $1`, [item.messageId]);
    expect(rows).toEqual([{ intent: item.productionIntent, source: "confirmed", labeledBy: ML.email }]);

    const out = path.join(work, "snapshot.jsonl");
    const exported = await cli("dataset", "export", "--out", out);
    expect(exported.code, exported.stderr).toBe(0);
    const examples = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { text: string; label: string; source: string });
    expect(examples.filter((e) => e.text === TEXTS[1])).toEqual([expect.objectContaining({ label: item.productionIntent, source: "staff" })]);
  });

  it("a version the server cannot load leaves the shadow as it was", async () => {
    // Put in shadow behind the CLI's back (the CLI loads it first and refuses): the server refuses it too.
    await pool.query(`INSERT INTO "ShadowDeployment" (id, version, actor) VALUES ($1, $2, 'tester@ci')`, [randomUUID(), V.broken]);
    await pool.query(`SELECT pg_notify('loopdesk_deployments', 'shadow:${V.broken}')`);
    await until("the server to report it", async () => (await health()).models.shadow.refused.includes(V.broken), 30_000);
    const turn = await chat(socket, "can I change my delivery address");
    await until("the shadow's verdict", async () => (await shadowRows([turn.messageId])).length === 1, 30_000);
    expect((await shadowRows([turn.messageId]))[0].shadowVersion).toBe(V.rotated);
    expect(await health()).toMatchObject({ models: { classifier: { version: seedVersion }, shadow: { version: V.rotated, refused: [V.broken] } } });
    expect((await pool.query(`SELECT status FROM "ModelVersion" WHERE version = $1`, [V.broken])).rows[0].status).toBe("ready");
  });

  it("`shadow --off` stops it", async () => {
    const r = await cli("models", "shadow", "--off");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${V.broken} is no longer in shadow`);
    await shadowing(null);
    const unshadowed = await chat(socket, "hello there");
    // The server classifies in shadow one message at a time, in order: once a message sent later under a
    // new shadow has its verdict, one sent with shadowing off would have had its own by then.
    expect((await cli("models", "shadow", V.copy)).code).toBe(0);
    await shadowing(V.copy);
    const later = await chat(socket, "hello there");
    await until("the later message's verdict", async () => (await shadowRows([later.messageId])).length === 1, 30_000);
    expect(await shadowRows([unshadowed.messageId])).toEqual([]);
  });

  it("promoting from shadow shows the live figures beside the gate's, deploys the version and ends the shadow", async () => {
    for (const text of TEXTS) await chat(socket, text);
    await until("the copy's verdicts", async () => {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "ShadowPrediction" WHERE "shadowVersion" = $1`, [V.copy]);
      return rows[0].n === TEXTS.length + 1;
    }, 30_000);
    const r = await cli("models", "promote", V.copy);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/gate: pass\n/);
    expect(r.stdout).toContain(`shadow: ${TEXTS.length + 1} live message(s), agreement with production 100.0%`);
    expect(r.stdout).toContain(`${V.copy} promoted from shadow (shadowing ended)`);
    await until("the swap", async () => (await health()).models.classifier.version === V.copy, 60_000);
    await shadowing(null);

    const { rows } = await pool.query(`SELECT version, reason, actor FROM "ShadowDeployment" ORDER BY "createdAt" DESC LIMIT 1`);
    expect(rows[0]).toEqual({ version: null, reason: "promoted", actor: ML.email });
    const deployment = (await pool.query(`SELECT gate FROM "Deployment" WHERE version = $1`, [V.copy])).rows[0];
    expect(deployment.gate).toMatchObject({ pass: true, shadow: { version: V.copy, agreement: 1 } });
    expect((await staffApi(serverUrl, "/api/ml/shadow", { cookie })).json).toEqual({ shadow: null });
    // Production's turns now carry the promoted version, and nothing shadows them.
    const turn = await chat(socket, "hello there");
    expect(turn.classifierVersion).toBe(V.copy);
  });
});
