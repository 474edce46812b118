/** Integration runs get a fresh database, migrated, and one real server on it. */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { createDatabase } from "./postgres";
import { startServer } from "./server";

declare module "vitest" {
  export interface ProvidedContext {
    serverUrl: string;
    databaseUrl: string;
    modelsDir: string;
  }
}

export default async function setup(project: TestProject) {
  const database = await createDatabase("loopdesk_test");
  execFileSync(process.execPath, ["--import", "tsx", "scripts/migrate.ts", "deploy"], {
    env: { ...process.env, DATABASE_URL: database.url },
    stdio: "inherit",
  });
  // A model store of its own, so versions trained by tests never land in ./models.
  const modelsDir = mkdtempSync(path.join(os.tmpdir(), "loopdesk-models-"));
  mkdirSync(path.join(modelsDir, "classifier"));
  symlinkSync(path.resolve("models/lm"), path.join(modelsDir, "lm"));
  symlinkSync(path.resolve("models/classifier/seed"), path.join(modelsDir, "classifier/seed"));
  const server = await startServer({
    DATABASE_URL: database.url,
    LOOPDESK_MODELS_DIR: modelsDir,
    LM_MAX_NEW_TOKENS: "24",
    CUSTOMER_TOKEN_SECRET: "test-secret-test-secret-test-secret-0123",
  });
  project.provide("serverUrl", server.url);
  project.provide("databaseUrl", database.url);
  project.provide("modelsDir", modelsDir);
  return async () => {
    await server.stop();
    await database.drop();
    rmSync(modelsDir, { recursive: true, force: true });
  };
}
