/**
 * The training worker: executes the training runs queued from the ML console (lib/training/queue.ts),
 * one at a time, in its own process so that training never competes with the web server's event
 * loop. Run one (or more, on other machines) beside the servers: `node --import tsx worker.ts`.
 */
import { config } from "./lib/config";
import { disconnectDatabase } from "./lib/db/client";
import { log } from "./lib/log";
import { serveMetrics } from "./lib/metrics";
import { startTrainingWorker } from "./lib/training/queue";

if (!config().DATABASE_URL) {
  log.fatal("the worker needs DATABASE_URL: with the embedded database (PGlite) the server runs the worker itself");
  process.exit(1);
}
const stop = await startTrainingWorker();
// The worker's own metrics (training runs) on METRICS_PORT: give it a port other than the servers'.
const stopMetrics = serveMetrics();

async function shutdown(signal: string) {
  log.info({ signal }, "worker shutting down");
  await stop();
  stopMetrics();
  await disconnectDatabase();
  process.exit(0);
}
// A stray rejection (a database blip in some background step) is logged, not fatal: runs record their
// own failures, and the worker keeps taking jobs.
process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection in the training worker"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
