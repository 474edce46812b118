/** Integration runs get a fresh database, migrated, and one real server on it. */
import { execFileSync } from "node:child_process";
import type { TestProject } from "vitest/node";
import { createDatabase } from "./postgres";
import { startServer } from "./server";

declare module "vitest" {
  export interface ProvidedContext {
    serverUrl: string;
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const database = await createDatabase("loopdesk_test");
  execFileSync(process.execPath, ["--import", "tsx", "scripts/migrate.ts", "deploy"], {
    env: { ...process.env, DATABASE_URL: database.url },
    stdio: "inherit",
  });
  const server = await startServer({
    DATABASE_URL: database.url,
    LM_MAX_NEW_TOKENS: "24",
    CUSTOMER_TOKEN_SECRET: "test-secret-test-secret-test-secret-0123",
  });
  project.provide("serverUrl", server.url);
  project.provide("databaseUrl", database.url);
  return async () => {
    await server.stop();
    await database.drop();
  };
}
