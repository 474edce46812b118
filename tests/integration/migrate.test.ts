/**
 * scripts/migrate.ts and scripts/migrations.ts against real PostgreSQL databases created per test,
 * and the embedded PGlite database in a temporary folder.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { describe, expect, it, onTestFinished } from "vitest";
import { TEMPLATE_REPLIES } from "../../lib/chat/decide";
import { createMigration, embeddedDatabaseDir, migrateDatabase, migrationStatus } from "../../scripts/migrations";
import { createDatabase } from "../helpers/postgres";

const ROOT = path.resolve(import.meta.dirname, "../..");
const MIGRATIONS = path.join(ROOT, "prisma/migrations");
const CLI = path.join(ROOT, "scripts/migrate.ts");
const TSX = createRequire(import.meta.url).resolve("tsx");
// Sorts after every real migration.
const EXTRA = "20991231000000_extra";

async function database() {
  const db = await createDatabase("migrate_test");
  onTestFinished(db.drop);
  return db;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "loopdesk-migrate-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A project folder whose prisma/migrations holds the real migrations plus `extra` ones. */
async function project(extra: Record<string, string> = {}): Promise<{ cwd: string; migrationsDir: string }> {
  const cwd = await tempDir();
  const migrationsDir = path.join(cwd, "prisma/migrations");
  await cp(MIGRATIONS, migrationsDir, { recursive: true });
  for (const [name, sql] of Object.entries(extra)) {
    await mkdir(path.join(migrationsDir, name));
    await writeFile(path.join(migrationsDir, name, "migration.sql"), sql);
  }
  return { cwd, migrationsDir };
}

/** The tables and enums schema.prisma declares (it maps no names with @@map). */
async function declared(kind: "model" | "enum"): Promise<string[]> {
  const schema = await readFile(path.join(ROOT, "prisma/schema.prisma"), "utf8");
  return [...schema.matchAll(new RegExp(`^${kind} (\\w+)`, "gm"))].map((m) => m[1]!).sort();
}

async function realMigrations(): Promise<{ name: string; checksum: string }[]> {
  const names = (await readdir(MIGRATIONS, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  return Promise.all(
    names.sort().map(async (name) => ({
      name,
      checksum: createHash("sha256").update(await readFile(path.join(MIGRATIONS, name, "migration.sql"))).digest("hex"),
    })),
  );
}

async function query<T = Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

const HISTORY = `SELECT migration_name, checksum, finished_at, rolled_back_at, logs, applied_steps_count
                   FROM "_prisma_migrations" ORDER BY started_at`;
const PUBLIC_TABLES = `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`;

/** Runs the CLI in `cwd` (whose prisma/migrations it uses) as `npm run db:migrate` would. */
function cli(args: string[], cwd: string, env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--import", TSX, CLI, ...args],
      { cwd, env: { ...process.env, DATABASE_URL: "", LOOPDESK_DATA_DIR: "", DEBUG: "", ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe("deploy to PostgreSQL", () => {
  it("creates the schema and Prisma's history rows, then has nothing to do", async () => {
    const db = await database();
    const migrations = await realMigrations();

    expect(await migrateDatabase({ databaseUrl: db.url, migrationsDir: MIGRATIONS })).toEqual(migrations.map((m) => m.name));

    const tables = (await query<{ table_name: string }>(db.url, PUBLIC_TABLES)).map((r) => r.table_name);
    expect(tables.sort()).toEqual([...(await declared("model")), "_prisma_migrations"].sort());
    const enums = (await query<{ typname: string }>(db.url, `SELECT typname FROM pg_type WHERE typtype = 'e'`)).map((r) => r.typname);
    expect(enums.sort()).toEqual(await declared("enum"));
    const history = await query(db.url, HISTORY);
    expect(history).toEqual(
      migrations.map((m) => ({
        migration_name: m.name,
        checksum: m.checksum,
        finished_at: expect.any(Date),
        rolled_back_at: null,
        logs: null,
        applied_steps_count: 1,
      })),
    );

    expect(await migrateDatabase({ databaseUrl: db.url, migrationsDir: MIGRATIONS })).toEqual([]);
    expect(await query(db.url, HISTORY)).toEqual(history);
    expect(await migrationStatus({ databaseUrl: db.url, migrationsDir: MIGRATIONS })).toEqual(
      migrations.map((m) => ({ name: m.name, state: "applied" })),
    );
  });

  it("sends each migration whole: $$ bodies and strings with ; survive", async () => {
    const db = await database();
    const { migrationsDir } = await project({
      [EXTRA]: `-- A function body full of semicolons.
CREATE FUNCTION "greeting"(who TEXT) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
  sep TEXT := '; ';
BEGIN
  RETURN 'hello' || sep || who;
END;
$$;

COMMENT ON TABLE "Customer" IS 'anonymous; known by a token';
`,
    });

    await migrateDatabase({ databaseUrl: db.url, migrationsDir });

    const [row] = await query(db.url, `SELECT "greeting"('you') AS greeting, obj_description('"Customer"'::regclass) AS comment`);
    expect(row).toEqual({ greeting: "hello; you", comment: "anonymous; known by a token" });
  });

  it("leaves nothing of a failing migration, records it as Prisma does and refuses to go on", async () => {
    const db = await database();
    const { cwd, migrationsDir } = await project({
      [EXTRA]: `CREATE TABLE "Half" ("id" INTEGER);
INSERT INTO "Half" VALUES (1);
SELECT * FROM "NoSuchTable";
`,
    });

    const deploy = await cli(["deploy"], cwd, { DATABASE_URL: db.url });

    expect(deploy.code).toBe(1);
    // One line: which migration, why, and what to do.
    expect(deploy.stderr).toMatch(new RegExp(`^migrate: migration ${EXTRA} failed at .*: No such table: NoSuchTable\\..*rolled_back_at.*\n$`));
    expect(await query(db.url, `SELECT to_regclass('"Half"') AS half`)).toEqual([{ half: null }]);
    const history = await query(db.url, HISTORY);
    expect(history.map((r) => r.migration_name)).toEqual([...(await realMigrations()).map((m) => m.name), EXTRA]);
    expect(history.at(-1)).toMatchObject({ finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
    expect(history.at(-1)?.logs).toMatch(/NoSuchTable/);
    await expect(migrateDatabase({ databaseUrl: db.url, migrationsDir })).rejects.toThrow(deploy.stderr.replace("migrate: ", "").trim());
  });

  it("waits for a deploy in progress elsewhere instead of taking it for a failed one", async () => {
    const db = await database();
    const sql = "SELECT 1;\n";
    const { migrationsDir } = await project({ [EXTRA]: sql });
    await migrateDatabase({ databaseUrl: db.url, migrationsDir: MIGRATIONS });
    // Another process applying EXTRA, as Prisma's engine does: under its advisory lock, with a row
    // that has no finished_at yet.
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    onTestFinished(() => other.end());
    await other.query("SELECT pg_advisory_lock(72707369)");
    await other.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name) VALUES (gen_random_uuid(), $1, $2)`,
      [createHash("sha256").update(sql).digest("hex"), EXTRA],
    );

    const deploy = migrateDatabase({ databaseUrl: db.url, migrationsDir });
    // Released only once the deploy is waiting for the lock, so the test sees it wait whatever the speed.
    const waiting = async () =>
      (await other.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 72707369 AND NOT granted`)).rows[0].n;
    await expect.poll(waiting, { timeout: 60_000 }).toBe(1);
    await other.query(`UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE migration_name = $1`, [EXTRA]);
    await other.query("SELECT pg_advisory_unlock(72707369)");

    expect(await deploy).toEqual([]);
  });

  it("refuses a migration edited after it was applied", async () => {
    const db = await database();
    const { migrationsDir } = await project();
    const [first] = await realMigrations();
    await migrateDatabase({ databaseUrl: db.url, migrationsDir });

    await writeFile(path.join(migrationsDir, first!.name, "migration.sql"), "-- edited\n", { flag: "a" });

    await expect(migrateDatabase({ databaseUrl: db.url, migrationsDir })).rejects.toThrow(
      `migration ${first!.name} was edited after it was applied`,
    );
    expect(await migrationStatus({ databaseUrl: db.url, migrationsDir })).toContainEqual({
      name: first!.name,
      state: "edited",
    });
  });

  it("backfills the decision of bot replies stored before Message.decision existed", async () => {
    const db = await database();
    const { migrationsDir } = await project();
    // The database as it was before the decision column: its migration and the ones after it held back.
    const decisionMigration = (await realMigrations()).find((m) => m.name.endsWith("_reply_decision"))!.name;
    const heldBack = (await realMigrations()).map((m) => m.name).filter((name) => name >= decisionMigration);
    const later = await tempDir();
    for (const name of heldBack) {
      await cp(path.join(migrationsDir, name), path.join(later, name), { recursive: true });
      await rm(path.join(migrationsDir, name), { recursive: true });
    }
    await migrateDatabase({ databaseUrl: db.url, migrationsDir });

    const replies: [string, string, string][] = [
      [TEMPLATE_REPLIES.out_of_scope, "template", "offer_human_out_of_scope"],
      [TEMPLATE_REPLIES.low_confidence, "template", "offer_human_low_confidence"],
      [TEMPLATE_REPLIES.asked_for_human, "template", "handoff_asked_for_human"],
      [TEMPLATE_REPLIES.handoff_low_confidence, "template", "handoff_low_confidence"],
      ["Your order ships today.", "smollm2", "answer"],
    ];
    const literal = (t: string) => `'${t.replace(/'/g, "''")}'`;
    await query(
      db.url,
      `INSERT INTO "Customer" (id) VALUES ('00000000-0000-4000-a000-000000000001');
       INSERT INTO "Conversation" (id, "customerId") VALUES ('00000000-0000-4000-a000-000000000002', '00000000-0000-4000-a000-000000000001');
       INSERT INTO "Message" (id, "conversationId", role, text, "modelVersion") VALUES
         ${replies.map(([text, version], i) => `('00000000-0000-4000-a000-00000000010${i}', '00000000-0000-4000-a000-000000000002', 'bot', ${literal(text)}, '${version}')`).join(",\n")},
         ('00000000-0000-4000-a000-000000000200', '00000000-0000-4000-a000-000000000002', 'customer', 'hello', NULL)`,
    );
    for (const name of heldBack) await cp(path.join(later, name), path.join(migrationsDir, name), { recursive: true });
    expect(await migrateDatabase({ databaseUrl: db.url, migrationsDir })).toEqual(heldBack);

    const rows = await query<{ text: string; decision: string | null }>(db.url, `SELECT text, decision::text FROM "Message" ORDER BY id`);
    expect(rows).toEqual([...replies.map(([text, , decision]) => ({ text, decision })), { text: "hello", decision: null }]);
  });
});

describe("create", () => {
  it("never uses the main database as the shadow database", async () => {
    const db = await database();
    const { migrationsDir } = await project();
    // Same database, spelled differently.
    const shadowDatabaseUrl = db.url.replace("127.0.0.1", "localhost");

    await expect(
      createMigration({ name: "x", databaseUrl: db.url, shadowDatabaseUrl, migrationsDir }),
    ).rejects.toThrow(/shadow database would be the main database/);
    expect(await query(db.url, PUBLIC_TABLES)).toEqual([]);
    expect(await readdir(migrationsDir)).toEqual(await readdir(MIGRATIONS));
  });

  it("writes the SQL for what the schema adds to the migrations, using throw-away shadow databases", async () => {
    const db = await database();
    const dir = await tempDir();
    const migrationsDir = path.join(dir, "migrations");
    await mkdir(path.join(migrationsDir, "20200101000000_init"), { recursive: true });
    await writeFile(
      path.join(migrationsDir, "20200101000000_init/migration.sql"),
      `CREATE TABLE "Customer" ("id" UUID NOT NULL, CONSTRAINT "Customer_pkey" PRIMARY KEY ("id"));\n`,
    );
    const schemaPath = path.join(dir, "schema.prisma");
    await writeFile(
      schemaPath,
      `datasource db {
  provider = "postgresql"
}

model Customer {
  id String @id @db.Uuid
}

model Note {
  id   Int    @id
  text String
}
`,
    );

    const result = await createMigration({ name: "add_note", databaseUrl: db.url, schemaPath, migrationsDir });

    // Like `prisma migrate dev`, it first brings the development database up to date.
    expect(result.applied).toEqual(["20200101000000_init"]);
    expect(result.created).toMatch(/^\d{14}_add_note$/);
    const sql = await readFile(path.join(migrationsDir, result.created!, "migration.sql"), "utf8");
    expect(sql.match(/^(CREATE|ALTER|DROP) .*/gm)).toEqual([`CREATE TABLE "Note" (`]);
    expect(await readFile(path.join(migrationsDir, "migration_lock.toml"), "utf8")).toContain('provider = "postgresql"');
    const shadows = await query(db.url, `SELECT datname FROM pg_database WHERE datname LIKE '${db.name}_shadow_%'`);
    expect(shadows).toEqual([]);
  });

  it("writes nothing when prisma/migrations is up to date with schema.prisma", async () => {
    const db = await database();
    const { migrationsDir } = await project();

    const result = await createMigration({ name: "nothing", databaseUrl: db.url, migrationsDir });

    expect(result.created).toBeNull();
    expect(await readdir(migrationsDir)).toEqual(await readdir(MIGRATIONS));
  });

  it("fails cleanly, never with an unhandled error, when its connections are cut under it", async () => {
    const db = await database();
    const { migrationsDir } = await project();
    // Cuts every connection to the database and its shadow databases, as a restart or a DROP ... WITH
    // (FORCE) does, over and over while the engine works: idle pool connections included.
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    onTestFinished(() => admin.end());
    let cutting = true;
    const cuts = (async () => {
      while (cutting) {
        await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname LIKE $1 AND pid <> pg_backend_pid()`,
          [`${db.name}%`],
        );
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const outcome = await createMigration({ name: "nothing", databaseUrl: db.url, migrationsDir }).then(
      (result) => result.created,
      (error: Error) => error.message,
    );
    // Connections the engine let go of are closed after it returns: keep cutting a little longer.
    await new Promise((resolve) => setTimeout(resolve, 500));
    cutting = false;
    await cuts;

    // A cut during the final clean-up may leave a throw-away shadow database behind.
    const shadows = await query<{ datname: string }>(db.url, `SELECT datname FROM pg_database WHERE datname LIKE '${db.name}_shadow_%'`);
    for (const { datname } of shadows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    // Either it got through between cuts (nothing to create) or it says what went wrong.
    expect(outcome === null || /terminat|connect|closed/i.test(outcome), String(outcome)).toBe(true);
  });

  it("needs DATABASE_URL", async () => {
    const result = await cli(["create", "x"], await tempDir(), {});
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^migrate: create needs DATABASE_URL/);
  });
});

describe("deploy to the embedded PGlite database", () => {
  it("creates the schema with the same history as on PostgreSQL, then has nothing to do", async () => {
    const { cwd } = await project();
    const dataDir = path.join(cwd, "nested/data");
    const migrations = await realMigrations();

    const first = await cli(["deploy"], cwd, { LOOPDESK_DATA_DIR: dataDir });
    expect(first).toMatchObject({ code: 0, stdout: migrations.map((m) => `applied ${m.name}\n`).join("") });
    const second = await cli(["deploy"], cwd, { LOOPDESK_DATA_DIR: dataDir });
    expect(second).toMatchObject({ code: 0, stdout: "database is up to date\n" });
    const edited = path.join(cwd, "prisma/migrations", migrations[0]!.name, "migration.sql");
    await writeFile(edited, "-- edited\n", { flag: "a" });
    const third = await cli(["deploy"], cwd, { LOOPDESK_DATA_DIR: dataDir });
    expect(third.code).toBe(1);
    expect(third.stderr).toMatch(new RegExp(`^migrate: migration ${migrations[0]!.name} was edited after it was applied.*\n$`));

    const pglite = await PGlite.create({ dataDir: embeddedDatabaseDir(dataDir) });
    try {
      const tables = await pglite.query<{ table_name: string }>(PUBLIC_TABLES);
      expect(tables.rows.map((r) => r.table_name).sort()).toEqual([...(await declared("model")), "_prisma_migrations"].sort());
      expect((await pglite.query(HISTORY)).rows).toEqual(
        migrations.map((m) => ({
          migration_name: m.name,
          checksum: m.checksum,
          finished_at: expect.any(Date),
          rolled_back_at: null,
          logs: null,
          applied_steps_count: 1,
        })),
      );
      // The history table itself is the one Prisma's engine creates.
      const db = await database();
      await migrateDatabase({ databaseUrl: db.url, migrationsDir: MIGRATIONS });
      const columns = `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
                         FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`;
      expect((await pglite.query(columns)).rows).toEqual(await query(db.url, columns));
    } finally {
      await pglite.close();
    }
  });
});
