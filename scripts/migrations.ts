// Creates and applies the migrations in prisma/migrations without the Prisma CLI, whose native schema
// engine cannot be downloaded offline (see the team's notes, shared/notes/offline-install.md):
// - PostgreSQL: Prisma's WebAssembly schema engine over @prisma/adapter-pg, i.e. the same
//   `applyMigrations` / `createMigration` calls the CLI makes, writing the standard `_prisma_migrations`.
// - Embedded PGlite (no DATABASE_URL): each pending migration.sql in its own transaction, together with
//   the row Prisma would have written, since no migration-aware adapter exists for PGlite.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import * as engineGlue from "@prisma/schema-engine-wasm/schema_engine_bg";
import type { MigrationList, SchemaEngine } from "@prisma/schema-engine-wasm/schema_engine_bg";
import pg from "pg";
import { lockEmbeddedDatabase } from "../lib/db/embedded-lock";

export interface MigrateOptions {
  /** PostgreSQL connection string. Without it, the embedded PGlite database in `dataDir` is used. */
  databaseUrl?: string;
  /** Folder of the embedded database (default `./data`); PGlite's files go to `<dataDir>/pglite`. */
  dataDir?: string;
  /** Default `./prisma/migrations`. */
  migrationsDir?: string;
}

export interface CreateMigrationOptions {
  /** Letters, digits and `_`; the engine prefixes it with a timestamp. */
  name: string;
  databaseUrl: string;
  /**
   * An existing database to replay the migrations into, wiped (its public schema) before each replay,
   * as Prisma's `shadowDatabaseUrl` is. By default throw-away databases `<main>_shadow_<random>` are
   * created on the same server and dropped afterwards.
   */
  shadowDatabaseUrl?: string;
  /** Default `./prisma/schema.prisma`. */
  schemaPath?: string;
  migrationsDir?: string;
}

export type MigrationState = "applied" | "pending" | "failed" | "edited" | "missing";

export interface MigrationStatus {
  name: string;
  /** `missing`: recorded in the database, but its folder is not in the migrations directory. */
  state: MigrationState;
}

const DEFAULT_MIGRATIONS_DIR = "prisma/migrations";
const DEFAULT_SCHEMA_PATH = "prisma/schema.prisma";
const DEFAULT_DATA_DIR = "data";
const LOCKFILE = "migration_lock.toml";
const NO_FILTERS = { externalTables: [], externalEnums: [] };

/** Where the embedded database keeps its files, for whoever opens it after migrating. */
export function embeddedDatabaseDir(dataDir = DEFAULT_DATA_DIR): string {
  return path.resolve(dataDir, "pglite");
}

/** Applies the pending migrations in name order and returns the names of those applied. */
export async function migrateDatabase(options: MigrateOptions = {}): Promise<string[]> {
  const migrationsDir = path.resolve(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  return options.databaseUrl
    ? deployPostgres(options.databaseUrl, migrationsDir)
    : deployEmbedded(options.dataDir ?? DEFAULT_DATA_DIR, migrationsDir);
}

export async function migrationStatus(options: MigrateOptions = {}): Promise<MigrationStatus[]> {
  const { migrations } = await readMigrationsDir(path.resolve(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR));
  let history: HistoryRow[] = [];
  if (options.databaseUrl) {
    history = await readPostgresHistory(options.databaseUrl);
  } else {
    const dir = embeddedDatabaseDir(options.dataDir);
    // Opening the embedded database would create it.
    if (existsSync(dir)) history = await withPGlite(dir, readHistory);
  }

  const live = history.filter((row) => row.rolled_back_at === null);
  const statuses: MigrationStatus[] = migrations.map((migration) => {
    const row = live.find((r) => r.migration_name === migration.name);
    if (!row) return { name: migration.name, state: "pending" };
    if (row.finished_at === null) return { name: migration.name, state: "failed" };
    return { name: migration.name, state: row.checksum === migration.checksum ? "applied" : "edited" };
  });
  for (const row of live) {
    if (!migrations.some((m) => m.name === row.migration_name)) {
      statuses.push({ name: row.migration_name, state: row.finished_at === null ? "failed" : "missing" });
    }
  }
  return statuses.sort((a, b) => compareNames(a.name, b.name));
}

export interface CreatedMigration {
  /** Pending migrations applied to the development database first, as `prisma migrate dev` does. */
  applied: string[];
  /** The new migration's folder name; null when the schema has no changes. */
  created: string | null;
}

/**
 * Diffs the schema against the migration history replayed into a shadow database and writes the
 * difference as a new migration.
 */
export async function createMigration(options: CreateMigrationOptions): Promise<CreatedMigration> {
  if (!/^\w+$/.test(options.name)) {
    throw new Error(`invalid migration name "${options.name}": use letters, digits and _`);
  }
  const migrationsDir = path.resolve(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  const schemaPath = path.resolve(options.schemaPath ?? DEFAULT_SCHEMA_PATH);
  const schema = { path: schemaPath, content: await readFile(schemaPath, "utf8") };
  const { list } = await readMigrationsDir(migrationsDir);

  const { applied, output } = await withSchemaEngine(options.databaseUrl, options.shadowDatabaseUrl, async (engine) => {
    // `prisma migrate dev --create-only`'s steps. devDiagnostic replays the migrations applied to the
    // development database into a shadow database, checks that the database matches them, and caches
    // the resulting schema, which createMigration diffs against (it cannot use a shadow database
    // itself): hence the second diagnostic once the pending migrations are applied.
    const diagnostic = await engine.devDiagnostic({ migrationsList: list, filters: NO_FILTERS });
    if (diagnostic.action.tag === "reset") {
      throw new Error(
        `the development database needs a reset (${diagnostic.action.reason.trim()}): drop and recreate it, then retry`,
      );
    }
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList: list, filters: NO_FILTERS });
    if (appliedMigrationNames.length > 0) await engine.devDiagnostic({ migrationsList: list, filters: NO_FILTERS });
    const output = await engine.createMigration({
      draft: false,
      migrationName: options.name,
      migrationsList: list,
      schema: { files: [schema] },
      filters: NO_FILTERS,
    });
    return { applied: appliedMigrationNames, output };
  });
  if (output.migrationScript === null) return { applied, created: null };

  // The same files `prisma migrate dev --create-only` writes.
  const folder = path.join(migrationsDir, output.generatedMigrationName);
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, `migration.${output.extension}`), output.migrationScript);
  await writeFile(
    path.join(migrationsDir, LOCKFILE),
    "# Please do not edit this file manually\n" +
      "# It should be added in your version-control system (e.g., Git)\n" +
      `provider = "${output.connectorType}"\n`,
  );
  return { applied, created: output.generatedMigrationName };
}

// --- Migrations on disk ---------------------------------------------------------------------------

interface LocalMigration {
  name: string;
  sql: string;
  /** What Prisma records in `_prisma_migrations.checksum`. */
  checksum: string;
}

/** Reads the migrations folder both as the engine's input and as plain files. */
async function readMigrationsDir(dir: string): Promise<{ list: MigrationList; migrations: LocalMigration[] }> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort(compareNames);
  const migrations: LocalMigration[] = [];
  for (const name of names) {
    const file = path.join(dir, name, "migration.sql");
    const sql = await readFile(file, "utf8").catch(() => {
      throw new Error(`${file} is missing`);
    });
    migrations.push({ name, sql, checksum: createHash("sha256").update(sql).digest("hex") });
  }
  const lockfileContent = await readFile(path.join(dir, LOCKFILE), "utf8").catch(() => null);
  const list: MigrationList = {
    baseDir: dir,
    lockfile: { path: LOCKFILE, content: lockfileContent },
    shadowDbInitScript: "",
    migrationDirectories: migrations.map((m) => ({
      path: m.name,
      migrationFile: { path: "migration.sql", content: { tag: "ok", value: m.sql } },
    })),
  };
  return { list, migrations };
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// --- Migration history (`_prisma_migrations`) -----------------------------------------------------

interface HistoryRow {
  migration_name: string;
  checksum: string;
  started_at: Date;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
}

type Query = <T>(sql: string) => Promise<T[]>;

// The table exactly as Prisma's schema engine creates it on PostgreSQL.
const HISTORY_TABLE_DDL = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

async function readHistory(query: Query): Promise<HistoryRow[]> {
  const [table] = await query<{ exists: boolean }>(
    `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS "exists"`,
  );
  if (!table?.exists) return [];
  return query<HistoryRow>(
    `SELECT migration_name, checksum, started_at, finished_at, rolled_back_at, logs
       FROM "_prisma_migrations" ORDER BY started_at`,
  );
}

/**
 * Returns the migrations still to apply, after refusing the cases `prisma migrate deploy` refuses
 * (a failed migration) and one it lets through: a migration edited after it was applied, which
 * would leave databases migrated before and after the edit different.
 */
function pendingMigrations(migrations: LocalMigration[], history: HistoryRow[]): LocalMigration[] {
  const live = history.filter((row) => row.rolled_back_at === null);
  const failed = failedMigration(live);
  if (failed) throw failed;
  for (const row of live) {
    const local = migrations.find((m) => m.name === row.migration_name);
    if (local && local.checksum !== row.checksum) {
      throw new Error(
        `migration ${row.migration_name} was edited after it was applied (checksum mismatch): ` +
          `restore its migration.sql and put the change in a new migration`,
      );
    }
  }
  const applied = new Set(live.map((row) => row.migration_name));
  return migrations.filter((m) => !applied.has(m.name));
}

/** A migration that failed (on PostgreSQL the engine records it, as Prisma does) blocks the next ones. */
function failedMigration(history: HistoryRow[]): Error | undefined {
  const row = history.find((r) => r.finished_at === null && r.rolled_back_at === null);
  if (!row) return undefined;
  const reason = row.logs ? engineMessage(row.logs).split("\n").at(-1) : "no logs";
  return new Error(
    `migration ${row.migration_name} failed at ${row.started_at.toISOString()}: ${reason}. Its statements ran in ` +
      `one transaction, so none was kept: fix it, then mark it rolled back for deploy to retry it: ` +
      `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '${row.migration_name}' ` +
      `AND finished_at IS NULL`,
  );
}

// --- PostgreSQL -----------------------------------------------------------------------------------

async function deployPostgres(databaseUrl: string, migrationsDir: string): Promise<string[]> {
  const { list, migrations } = await readMigrationsDir(migrationsDir);
  const pending = pendingMigrations(migrations, await readPostgresHistory(databaseUrl));
  // Most starts have nothing to apply: skip loading the engine.
  if (pending.length === 0) return [];
  try {
    const output = await withSchemaEngine(databaseUrl, undefined, (engine) =>
      engine.applyMigrations({ migrationsList: list, filters: NO_FILTERS }),
    );
    return output.appliedMigrationNames;
  } catch (error) {
    // Say which migration failed, and what to do, as the next deploy will.
    throw failedMigration(await readPostgresHistory(databaseUrl)) ?? error;
  }
}

// The advisory lock Prisma's schema engine holds while it applies migrations.
const PRISMA_MIGRATE_LOCK = 72707369;

/**
 * Reads the history under the engine's lock: a migration that another process (a second server
 * starting) is applying has no finished_at yet, and must not be taken for a failed one.
 */
function readPostgresHistory(databaseUrl: string): Promise<HistoryRow[]> {
  return withPgClient(databaseUrl, async (query) => {
    await query("BEGIN");
    try {
      await query(`SELECT pg_advisory_xact_lock(${PRISMA_MIGRATE_LOCK})`);
      return await readHistory(query);
    } finally {
      await query("COMMIT");
    }
  });
}

async function withPgClient<T>(databaseUrl: string, run: (query: Query) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await run(async (sql) => (await client.query(sql)).rows);
  } finally {
    await client.end();
  }
}

function databaseName(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  // libpq's default database is the user's name.
  return decodeURIComponent(url.pathname.slice(1) || url.username);
}

/**
 * adapter-pg 7.10.1 maps no column type to Postgres' internal `"char"` (OID 18), which the engine's
 * catalogue queries return ("Column type 'char' could not be deserialized"); its text form is plain
 * text, so results announce it as `text` (OID 25). pg 8.23.1 has no public hook before the adapter
 * reads the column types: this overrides the handler of the RowDescription message.
 */
class CharAsTextClient extends pg.Client {
  _handleRowDescription(message: RowDescription): void {
    for (const field of message.fields) {
      if (field.dataTypeID === 18) field.dataTypeID = 25;
    }
    (pg.Client.prototype as unknown as RowDescriptionHandler)._handleRowDescription.call(this, message);
  }
}

interface RowDescription {
  fields: { dataTypeID: number }[];
}

interface RowDescriptionHandler {
  _handleRowDescription(message: RowDescription): void;
}

/**
 * adapter-pg 7.10.1's executeScript splits the script on `;` (breaking `$$` bodies and string literals)
 * and sends the pieces one by one, so a failing migration stays half-applied. Sent as one simple query,
 * the whole script runs in one implicit transaction, as with Prisma's native engine.
 */
function scriptAsOneQuery(adapter: SqlDriverAdapter): SqlDriverAdapter {
  adapter.executeScript = async (script) => {
    await adapter.executeRaw({ sql: script, args: [], argTypes: [] });
  };
  return adapter;
}

// A configured shadow database is reused: empty it the way Prisma resets one, minus other schemas.
const RESET_PUBLIC_SCHEMA = "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public";

async function withSchemaEngine<T>(
  databaseUrl: string,
  shadowDatabaseUrl: string | undefined,
  run: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  if (shadowDatabaseUrl && databaseName(shadowDatabaseUrl) === databaseName(databaseUrl)) {
    throw new Error(`the shadow database would be the main database "${databaseName(databaseUrl)}": refusing`);
  }
  const { SchemaEngine } = await loadSchemaEngine();
  const pools: pg.Pool[] = [];
  const throwawayDatabases: string[] = [];
  const connect = async (url: string) => {
    const pool = new pg.Pool({ connectionString: url, Client: CharAsTextClient });
    // pool.end() resolves before its connections have closed, and the adapter removes its own error
    // listener when the engine lets go of a connection: a backend terminated just then (the shadow
    // databases are dropped WITH (FORCE)) would otherwise be an unhandled 'error' event.
    pool.on("error", (error) => logEngine(`idle connection closed: ${error.message}`));
    pools.push(pool);
    return scriptAsOneQuery(await new PrismaPg(pool).connect());
  };
  const factory: SqlMigrationAwareDriverAdapterFactory = {
    provider: "postgres",
    adapterName: "@prisma/adapter-pg",
    connect: () => connect(databaseUrl),
    // The engine wants a fresh, empty shadow database each time it replays the migrations (several
    // times per command). adapter-pg 7.10.1's own connectToShadowDb creates one but then connects to
    // the main database (the connection string wins over `database`), replaying into it.
    connectToShadowDb: async () => {
      if (shadowDatabaseUrl) {
        await withPgClient(shadowDatabaseUrl, (query) => query(RESET_PUBLIC_SCHEMA));
        return connect(shadowDatabaseUrl);
      }
      // Postgres truncates names beyond 63 bytes.
      const name = `${databaseName(databaseUrl).slice(0, 40)}_shadow_${randomBytes(4).toString("hex")}`;
      await withPgClient(databaseUrl, (query) => query(`CREATE DATABASE "${name}"`));
      throwawayDatabases.push(name);
      const url = new URL(databaseUrl);
      url.pathname = `/${name}`;
      return connect(url.toString());
    },
  };
  let engine: SchemaEngine | undefined;
  try {
    engine = await SchemaEngine.new({ datamodels: undefined }, logEngine, bindMigrationAwareSqlAdapterFactory(factory));
    return await run(engine);
  } catch (error) {
    throw error instanceof Error ? new Error(engineMessage(error.message), { cause: error }) : error;
  } finally {
    engine?.free();
    await Promise.all(pools.map((pool) => pool.end()));
    for (const name of throwawayDatabases) {
      await withPgClient(databaseUrl, (query) => query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    }
  }
}

let engineModule: Promise<typeof engineGlue> | undefined;

/**
 * The package's main entry imports the .wasm file as an ES module, which Node 20 only does with
 * --experimental-wasm-modules: instantiate it by hand, once per process, with the JS glue as imports.
 */
function loadSchemaEngine(): Promise<typeof engineGlue> {
  engineModule ??= (async () => {
    const gluePath = createRequire(import.meta.url).resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const bytes = await readFile(gluePath.replace(/\.js$/, ".wasm"));
    const { instance } = await WebAssembly.instantiate(bytes, { "./schema_engine_bg.js": engineGlue });
    engineGlue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return engineGlue;
  })();
  return engineModule;
}

/** The engine's errors end with a trace of its Rust spans ("   0: schema_commands::..."). */
function engineMessage(message: string): string {
  return message.split(/\n\s*0: /)[0]!.trim();
}

function logEngine(line: string): void {
  if (process.env.DEBUG) console.error(line);
}

// --- Embedded PGlite ------------------------------------------------------------------------------

async function deployEmbedded(dataDir: string, migrationsDir: string): Promise<string[]> {
  const { migrations } = await readMigrationsDir(migrationsDir);
  // PGlite creates its own folder, but not the folders above it.
  await mkdir(dataDir, { recursive: true });
  return withPGlite(embeddedDatabaseDir(dataDir), async (query, db) => {
    await db.exec(HISTORY_TABLE_DDL);
    const applied: string[] = [];
    for (const migration of pendingMigrations(migrations, await readHistory(query))) {
      // started_at: now() is the start of the transaction; finished_at: the time at the end of it.
      await db
        .transaction(async (tx) => {
          await tx.exec(migration.sql);
          await tx.query(
            `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
             VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
            [randomUUID(), migration.checksum, migration.name],
          );
        })
        .catch((error: unknown) => {
          throw new Error(
            `migration ${migration.name} failed and was rolled back: ${error instanceof Error ? error.message : error}`,
          );
        });
      applied.push(migration.name);
    }
    return applied;
  });
}

async function withPGlite<T>(dir: string, run: (query: Query, db: PGlite) => Promise<T>): Promise<T> {
  const release = lockEmbeddedDatabase(dir);
  try {
    const db = await PGlite.create({ dataDir: dir });
    try {
      return await run(async (sql) => (await db.query<never>(sql)).rows, db);
    } finally {
      await db.close();
    }
  } finally {
    release();
  }
}
