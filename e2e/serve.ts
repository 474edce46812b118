/** The server Playwright tests run against: a fresh, migrated database and the real model. */
import { execFileSync } from "node:child_process";
import { createDatabase } from "../tests/helpers/postgres";
import { startServer } from "../tests/helpers/server";

const database = await createDatabase("loopdesk_e2e");
execFileSync(process.execPath, ["--import", "tsx", "scripts/migrate.ts", "deploy"], {
  env: { ...process.env, DATABASE_URL: database.url },
  stdio: "inherit",
});
const server = await startServer({
  PORT: process.env.E2E_PORT ?? "3107",
  DATABASE_URL: database.url,
  LM_MAX_NEW_TOKENS: "32",
  CUSTOMER_TOKEN_SECRET: "e2e-secret-e2e-secret-e2e-secret-012345",
});
console.log(`e2e server ready at ${server.url}`);

async function shutdown() {
  await server.stop();
  await database.drop();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown());
process.on("SIGINT", () => void shutdown());
