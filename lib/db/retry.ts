/**
 * Riding out database outages: which errors mean "unreachable, try again later", a retry loop for
 * the steps that must not be lost, and the health check's ping.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { log } from "../log";
import { db } from "./client";

interface DriverErrorCause {
  kind?: string;
  code?: string;
  severity?: string;
}
/** Driver-adapter error kinds that mean the connection or the server went away. */
const CONNECTION_LOST_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);

/**
 * Whether an error means the database was unreachable (a connection cut, the server restarting or
 * refusing connections), so the same query may succeed later, rather than a bad query or a conflict.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { name?: string; message?: unknown; cause?: DriverErrorCause; meta?: { driverAdapterError?: { cause?: DriverErrorCause } } } | null;
  const cause = e?.meta?.driverAdapterError?.cause ?? (e?.name === "DriverAdapterError" ? e.cause : undefined);
  if (cause) {
    // FATAL ends the session (terminated, shutting down, not accepting connections); classes 08, 53 and
    // 57P are connection exceptions, insufficient resources and operator intervention.
    return CONNECTION_LOST_KINDS.has(cause.kind ?? "") || cause.severity === "FATAL" || /^(08|53|57P)/.test(cause.code ?? "");
  }
  // node-postgres's own errors for a pooled connection that was cut or could not be made.
  return typeof e?.message === "string" && /Connection terminated|connection error|not queryable|ECONNREFUSED|ECONNRESET/.test(e.message);
}

/** How long writes that must not be lost (a bot reply and the steps before it) wait for the database. */
const DATABASE_RETRY_MS = 60_000;
const MAX_RETRY_DELAY_MS = 2_000;

/**
 * Runs an idempotent database step, retrying with backoff while the database is unavailable (up to a
 * minute), so that work done during an outage (a generated reply) is stored once it is back.
 */
export async function retryWhileDatabaseUnavailable<T>(step: string, run: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + DATABASE_RETRY_MS;
  for (let delay = 100; ; delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS)) {
    try {
      return await run();
    } catch (err) {
      if (!isDatabaseUnavailable(err) || Date.now() + delay > deadline) throw err;
      log.warn({ step, retryInMs: delay, reason: err instanceof Error ? err.message.split("\n").at(-1) : String(err) }, "database unavailable; retrying");
      await sleep(delay);
    }
  }
}

export async function pingDatabase(): Promise<void> {
  await db().$queryRaw`SELECT 1`;
}
