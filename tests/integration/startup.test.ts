/**
 * A starting server: /api/health answers 503 `starting` while the models are not loaded, then 200.
 * The test holds the help-centre table locked, so the server's start (seed the help centre, then load
 * and warm the models) waits on it while its HTTP port is already open: the 503 is observed whatever
 * the machine's speed, through the real server and database.
 */
import pg from "pg";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { createMigratedDatabase } from "../helpers/postgres";
import { spawnServer, waitHealthy, type RunningServer } from "../helpers/server";

let database: Awaited<ReturnType<typeof createMigratedDatabase>>;
let server: RunningServer | undefined;

beforeAll(async () => {
  database = await createMigratedDatabase("startup_test");
});
afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

it("answers /api/health with 503 until the models are loaded and warm, then 200", async () => {
  const lock = new pg.Client({ connectionString: database.url });
  await lock.connect();
  try {
    await lock.query("BEGIN");
    await lock.query(`LOCK TABLE "KnowledgeArticle" IN ACCESS EXCLUSIVE MODE`);
    server = await spawnServer({
      DATABASE_URL: database.url,
      LOOPDESK_MODELS_DIR: inject("modelsDir"),
      CUSTOMER_TOKEN_SECRET: "startup-secret-startup-secret-startup-01",
    });
    const res = await fetch(`${server.url}/api/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "starting", db: "ok", models: null });
    await lock.query("COMMIT");
  } finally {
    await lock.end();
  }
  await waitHealthy(server);
  const ready = await (await fetch(`${server.url}/api/health`)).json();
  expect(ready).toMatchObject({ status: "ok", db: "ok", models: { lm: { version: expect.any(String) }, classifier: { version: expect.any(String) } } });
});

it("two servers starting at once on a fresh database both come up, registering the seed models once", async () => {
  const fresh = await createMigratedDatabase("startup_race_test");
  const env = { DATABASE_URL: fresh.url, LOOPDESK_MODELS_DIR: inject("modelsDir"), CUSTOMER_TOKEN_SECRET: "startup-secret-startup-secret-startup-01" };
  const servers = await Promise.all([spawnServer(env), spawnServer(env)]);
  try {
    await Promise.all(servers.map((s) => waitHealthy(s, 240_000)));
    const pool = new pg.Pool({ connectionString: fresh.url, max: 1 });
    const { rows } = await pool.query(`SELECT kind, count(*)::int AS n FROM "ModelVersion" GROUP BY kind ORDER BY kind`);
    await pool.end();
    expect(rows).toEqual([
      { kind: "classifier", n: 1 },
      { kind: "lm", n: 1 },
    ]);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await fresh.drop();
  }
}, 300_000);
