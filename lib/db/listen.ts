/**
 * Postgres LISTEN/NOTIFY with either database: NOTIFY through the Prisma client; LISTEN on a dedicated
 * pg connection, or PGlite's own listen.
 */
import pg from "pg";
import { config } from "../config";
import { log } from "../log";
import { db, embeddedDatabase } from "./client";

export async function notify(channel: string, payload: string): Promise<void> {
  await db().$executeRaw`SELECT pg_notify(${channel}, ${payload})`;
}

/** Listens on `channel`; `onConnection` hears when the listening connection is up (true) or lost (false). */
export async function listen(
  channel: string,
  onMessage: (payload: string) => void,
  onConnection: (up: boolean) => void = () => {},
): Promise<() => Promise<void>> {
  const url = config().DATABASE_URL;
  if (!url) {
    const unlisten = await embeddedDatabase().listen(channel, onMessage);
    onConnection(true); // in-process: up as long as the process is
    return unlisten;
  }
  let client: pg.Client | null = null;
  let closed = false;
  // Reconnects after a dropped connection; a notification missed meanwhile is caught by `onMessage("")`.
  const connect = async (): Promise<void> => {
    if (closed) return;
    const c = new pg.Client({ connectionString: url });
    c.on("notification", (n) => n.channel === channel && onMessage(n.payload ?? ""));
    c.on("error", (err) => {
      log.warn({ err, channel }, "listener connection lost; reconnecting");
      onConnection(false);
      c.end().catch(() => {});
      setTimeout(() => void connect().catch(() => {}), 1000);
    });
    await c.connect();
    await c.query(`LISTEN ${channel}`);
    client = c;
    onConnection(true);
    onMessage("");
  };
  await connect();
  return async () => {
    closed = true;
    await client?.end();
  };
}
