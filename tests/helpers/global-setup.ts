/** Integration runs get a fresh database, migrated, and one real server on it. */
import type { TestProject } from "vitest/node";
import { createModelStore } from "./model-store";
import { createMigratedDatabase } from "./postgres";
import { startServer } from "./server";

declare module "vitest" {
  export interface ProvidedContext {
    serverUrl: string;
    databaseUrl: string;
    modelsDir: string;
  }
}

export default async function setup(project: TestProject) {
  const database = await createMigratedDatabase("loopdesk_test");
  const store = createModelStore();
  const modelsDir = store.dir;
  const server = await startServer({
    DATABASE_URL: database.url,
    LOOPDESK_MODELS_DIR: modelsDir,
    LM_MAX_NEW_TOKENS: "24",
    // Every reply generated, however busy the machine: which replies degrade under load depends on
    // timing (degrade.test.ts tests it on a server of its own).
    LM_DEGRADE_WAIT_MS: "0",
    // Every test file talks to this one server from 127.0.0.1: per-address limits sized for one
    // browser would refuse a whole suite (limits.test.ts and multi-instance.test.ts test them on
    // servers of their own).
    RATE_LIMIT_CONNECTIONS_PER_IP: "100000",
    RATE_LIMIT_MESSAGES_PER_IP: "100000",
    SOCKETS_PER_ADDRESS: "100000",
    PENDING_TURNS_PER_ADDRESS: "100000",
    // Tests drive one socket far faster than a person does (abuse.test.ts tests the bucket).
    SOCKET_EVENT_BURST: "100000",
    SOCKET_EVENTS_PER_SECOND: "100000",
    LOGIN_ATTEMPTS_PER_ADDRESS: "100000",
    CUSTOMER_TOKEN_SECRET: "test-secret-test-secret-test-secret-0123",
  });
  project.provide("serverUrl", server.url);
  project.provide("databaseUrl", database.url);
  project.provide("modelsDir", modelsDir);
  return async () => {
    await server.stop();
    await database.drop();
    store.remove();
  };
}
