/**
 * The one Prisma client of the process: Postgres through adapter-pg when DATABASE_URL is set,
 * otherwise the embedded PGlite database persisted under the data folder.
 */
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "../generated/prisma/client";
import { config } from "../config";
import { shared } from "../process";
import { lockEmbeddedDatabase } from "./embedded-lock";

// Prisma's defaults (2 s to get a connection for a transaction, 5 s to run it) fail a server's start
// on a busy machine; these are waits, not a performance budget.
const transactionOptions = { maxWait: 10_000, timeout: 20_000 };

function createClient(): PrismaClient {
  const { DATABASE_URL } = config();
  const adapter = DATABASE_URL ? new PrismaPg({ connectionString: DATABASE_URL, max: 10 }) : new PrismaPGlite(embeddedDatabase());
  return new PrismaClient({ adapter, errorFormat: "minimal", transactionOptions });
}

/** The in-process PGlite database; only one process may ever open its folder. */
export function embeddedDatabase(): PGlite {
  return shared("__loopdeskPGlite", () => {
    const dataDir = path.resolve(config().LOOPDESK_DATA_DIR, "pglite");
    lockEmbeddedDatabase(dataDir);
    return new PGlite(dataDir);
  });
}

/**
 * Raw SQL on the embedded database, for pg-boss: parameterless SQL may hold several statements,
 * which only `exec` runs.
 */
export function embeddedSqlExecutor() {
  const pglite = embeddedDatabase();
  return {
    executeSql: async (text: string, values?: unknown[]) => {
      if (values && values.length > 0) return pglite.query(text, values);
      const results = await pglite.exec(text);
      return { rows: results.at(-1)?.rows ?? [] };
    },
  };
}

export function db(): PrismaClient {
  return shared("__loopdeskPrisma", createClient);
}

/** Closes the database connections, at the end of a process. */
export async function disconnectDatabase(): Promise<void> {
  await db().$disconnect();
}
