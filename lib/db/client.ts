/**
 * The one Prisma client of the process: Postgres through adapter-pg when DATABASE_URL is set,
 * otherwise the embedded PGlite database persisted under the data folder.
 */
import path from "node:path";
import { mkdirSync } from "node:fs";
import { PrismaPg } from "@prisma/adapter-pg";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "../generated/prisma/client";
import { config } from "../config";

// Next's compiled route code and server.ts are separate module copies in one process: share via globalThis.
const g = globalThis as { __loopdeskPrisma?: PrismaClient; __loopdeskPGlite?: PGlite };

function createClient(): PrismaClient {
  const { DATABASE_URL } = config();
  if (DATABASE_URL) {
    return new PrismaClient({ adapter: new PrismaPg({ connectionString: DATABASE_URL, max: 10 }), errorFormat: "minimal" });
  }
  return new PrismaClient({ adapter: new PrismaPGlite(embeddedDatabase()), errorFormat: "minimal" });
}

/** The in-process PGlite database; only one may ever open its folder. */
export function embeddedDatabase(): PGlite {
  if (!g.__loopdeskPGlite) {
    const dataDir = path.resolve(config().LOOPDESK_DATA_DIR, "pglite");
    mkdirSync(path.dirname(dataDir), { recursive: true });
    g.__loopdeskPGlite = new PGlite(dataDir);
  }
  return g.__loopdeskPGlite;
}

export function db(): PrismaClient {
  g.__loopdeskPrisma ??= createClient();
  return g.__loopdeskPrisma;
}
