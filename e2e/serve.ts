/**
 * The server Playwright tests run against: a fresh, migrated database, the real models, and the
 * training worker beside the server (as `npm start` runs them with a database URL).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { registerRefusedCandidates } from "../tests/helpers/gate-candidates";
import { createModelStore } from "../tests/helpers/model-store";
import { createMigratedDatabase } from "../tests/helpers/postgres";
import { startServer, type RunningServer } from "../tests/helpers/server";
import { E2E_STAFF } from "./staff";

let server: RunningServer | undefined;
let worker: ChildProcess | undefined;
let stopping = false;
// Versions trained by the ML test and its snapshots stay out of ./models and ./data.
const store = createModelStore();
const dataDir = mkdtempSync(path.join(os.tmpdir(), "loopdesk-e2e-data-"));
const database = await createMigratedDatabase("loopdesk_e2e");

// Playwright ends this process with SIGTERM (gracefulShutdown in playwright.config.ts): the database
// is dropped on every way out, a failed start included, so runs leave nothing behind.
async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  worker?.kill("SIGTERM");
  await server?.stop().catch(() => {});
  await database.drop().catch((err: unknown) => console.error("could not drop", database.name, err));
  store.remove();
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(code);
}
process.on("SIGTERM", () => void shutdown(0));
process.on("SIGINT", () => void shutdown(0));

try {
  const env = {
    DATABASE_URL: database.url,
    LOOPDESK_MODELS_DIR: store.dir,
    LOOPDESK_DATA_DIR: dataDir,
    CUSTOMER_TOKEN_SECRET: "e2e-secret-e2e-secret-e2e-secret-012345",
  };
  for (const staff of Object.values(E2E_STAFF)) {
    execFileSync(process.execPath, ["bin/loopdesk.js", "staff", "create", "--email", staff.email, "--name", staff.name, "--role", staff.role], {
      env: { ...process.env, ...env, LOOPDESK_STAFF_PASSWORD: staff.password },
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  // Candidates the gate refuses, for e2e/gate.spec.ts.
  await registerRefusedCandidates(store.dir, database.url);
  // Every spec's browsers (customers and agents alike) come from 127.0.0.1, and a spec's pages stay open until
  // the run ends: per-address limits sized for one person would refuse the suite's later logins and sockets
  // (the limits themselves are tested in tests/integration/abuse.test.ts and limits.test.ts).
  server = await startServer({
    ...env,
    PORT: process.env.E2E_PORT ?? "0",
    LM_MAX_NEW_TOKENS: "32",
    LOGIN_ATTEMPTS_PER_ADDRESS: "100000",
    SOCKETS_PER_ADDRESS: "1000",
    RATE_LIMIT_CONNECTIONS_PER_IP: "1000",
  });
  worker = spawn(process.execPath, ["--import", "tsx", "worker.ts"], { env: { ...process.env, ...env, LOG_LEVEL: "warn" }, stdio: "inherit" });
  console.log(`e2e server ready at ${server.url}`);
} catch (err) {
  console.error(err);
  await shutdown(1);
}
