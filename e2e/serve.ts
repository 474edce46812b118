/** The server Playwright tests run against: a fresh, migrated database and the real model. */
import { execFileSync } from "node:child_process";
import { createDatabase } from "../tests/helpers/postgres";
import { startServer, type RunningServer } from "../tests/helpers/server";
import { E2E_STAFF } from "./staff";

const database = await createDatabase("loopdesk_e2e");
let server: RunningServer | undefined;
let stopping = false;

// Playwright ends this process with SIGTERM (gracefulShutdown in playwright.config.ts): the database
// is dropped on every way out, a failed start included, so runs leave nothing behind.
async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  await server?.stop().catch(() => {});
  await database.drop().catch((err: unknown) => console.error("could not drop", database.name, err));
  process.exit(code);
}
process.on("SIGTERM", () => void shutdown(0));
process.on("SIGINT", () => void shutdown(0));

try {
  execFileSync(process.execPath, ["--import", "tsx", "scripts/migrate.ts", "deploy"], {
    env: { ...process.env, DATABASE_URL: database.url },
    stdio: "inherit",
  });
  for (const staff of Object.values(E2E_STAFF)) {
    execFileSync(process.execPath, ["bin/loopdesk.js", "staff", "create", "--email", staff.email, "--name", staff.name, "--role", staff.role], {
      env: { ...process.env, DATABASE_URL: database.url, LOOPDESK_STAFF_PASSWORD: staff.password },
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  server = await startServer({
    PORT: process.env.E2E_PORT ?? "3107",
    DATABASE_URL: database.url,
    LM_MAX_NEW_TOKENS: "32",
    CUSTOMER_TOKEN_SECRET: "e2e-secret-e2e-secret-e2e-secret-012345",
  });
  console.log(`e2e server ready at ${server.url}`);
} catch (err) {
  console.error(err);
  await shutdown(1);
}
