/**
 * Postgres LISTEN/NOTIFY with either database: NOTIFY through the Prisma client; LISTEN on a dedicated
 * pg connection, or PGlite's own listen.
 */
import pg from "pg";
import { config } from "../config";
import { log } from "../log";
import { shared } from "../process";
import { db, embeddedDatabase } from "./client";

export async function notify(channel: string, payload: string): Promise<void> {
  await db().$executeRaw`SELECT pg_notify(${channel}, ${payload})`;
}

const MAX_RECONNECT_DELAY_MS = 10_000;

/** Whether each channel's listening connection is up, for /api/health (one map per process). */
const listeners = shared("__loopdeskListeners", () => new Map<string, boolean>());

export function listenerStates(): Record<string, "up" | "down"> {
  return Object.fromEntries([...listeners].map(([channel, up]) => [channel, up ? "up" : "down"]));
}

/** Listens on `channel`; `onConnection` hears when the listening connection is up (true) or lost (false). */
export async function listen(
  channel: string,
  onMessage: (payload: string) => void,
  onUpOrDown: (up: boolean) => void = () => {},
): Promise<() => Promise<void>> {
  const onConnection = (up: boolean) => {
    listeners.set(channel, up);
    onUpOrDown(up);
  };
  const url = config().DATABASE_URL;
  if (!url) {
    const unlisten = await embeddedDatabase().listen(channel, onMessage);
    onConnection(true); // in-process: up as long as the process is
    return unlisten;
  }
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  // Connects and LISTENs; on any failure, tries again with backoff (0.5 s doubling to 10 s) for as long
  // as the process lives. `onMessage("")` after each (re)connect lets the caller catch up on what it
  // missed meanwhile. keepAlive notices a connection that vanished without a FIN.
  const connect = async (attempt = 0): Promise<void> => {
    if (closed) return;
    const c = new pg.Client({ connectionString: url, keepAlive: true });
    const retryLater = (err: unknown, nextAttempt: number) => {
      const delayMs = Math.min(500 * 2 ** attempt, MAX_RECONNECT_DELAY_MS);
      log.warn({ err, channel, retryInMs: delayMs }, "listener connection lost; reconnecting");
      c.end().catch(() => {});
      if (!closed) retry = setTimeout(() => void connect(nextAttempt), delayMs);
    };
    let up = false;
    const lost = (err: unknown) => {
      if (!up || closed) return; // a failure while connecting is handled below; a close is not a loss
      up = false;
      onConnection(false);
      retryLater(err, 0);
    };
    c.on("notification", (n) => n.channel === channel && onMessage(n.payload ?? ""));
    c.on("error", lost);
    c.on("end", () => lost(new Error("connection ended")));
    try {
      await c.connect();
      await c.query(`LISTEN ${channel}`);
    } catch (err) {
      if (client === null && attempt === 0) {
        c.end().catch(() => {});
        throw err; // the first connect's failure is the caller's
      }
      retryLater(err, attempt + 1);
      return;
    }
    up = true;
    client = c;
    onConnection(true);
    onMessage("");
  };
  await connect();
  return async () => {
    closed = true;
    clearTimeout(retry);
    listeners.delete(channel);
    await client?.end();
  };
}
