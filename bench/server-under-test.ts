/**
 * The real server a benchmark runs against: a throw-away PostgreSQL database (TEST_POSTGRES_URL's
 * server, migrated), a model store and data folder of its own, and server.ts (production build, real
 * models) on 127.0.0.1. Also the percentile the benchmarks report.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createModelStore } from "../tests/helpers/model-store";
import { createMigratedDatabase } from "../tests/helpers/postgres";
import { type RunningServer, startServer } from "../tests/helpers/server";

export interface ServerUnderTest {
  server: RunningServer;
  /** The environment the server runs with (its DATABASE_URL among it), for tools run beside it. */
  env: Record<string, string>;
  /** Stops the server and removes the database, model store and data folder. */
  close: () => Promise<void>;
}

/**
 * Starts the server with `env` added to its environment (limits, token budgets). `modelsDir` serves
 * that model store as it is; without it the server gets a store of its own linking ./models' seed
 * classifier and language model, so nothing it registers lands in ./models.
 */
export async function startServerUnderTest(name: string, env: Record<string, string>, modelsDir?: string): Promise<ServerUnderTest> {
  const database = await createMigratedDatabase(`loopdesk_${name}`);
  const store = modelsDir ? undefined : createModelStore();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `loopdesk-${name}-data-`));
  const cleanUp = async () => {
    await database.drop();
    store?.remove();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const serverEnv = {
    DATABASE_URL: database.url,
    LOOPDESK_MODELS_DIR: modelsDir ?? store!.dir,
    LOOPDESK_DATA_DIR: dataDir,
    CUSTOMER_TOKEN_SECRET: randomBytes(32).toString("hex"),
    ...env,
  };
  try {
    const server = await startServer(serverEnv);
    return {
      server,
      env: serverEnv,
      close: async () => {
        await server.stop();
        await cleanUp();
      },
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

/** Nearest-rank percentile. */
export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
