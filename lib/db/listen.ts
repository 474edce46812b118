/**
 * Postgres LISTEN/NOTIFY with either database: NOTIFY through the Prisma client; LISTEN on a dedicated
 * pg connection, or PGlite's own listen.
 */
import pg from "pg";
import { config } from "../config";
import { log } from "../log";
import { metrics } from "../metrics";
import { db, embeddedDatabase } from "./client";

export async function notify(channel: string, payload: string): Promise<void> {
  await db().$executeRaw`SELECT pg_notify(${channel}, ${payload})`;
}

export async function listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>> {
  const url = config().DATABASE_URL;
  if (!url) {
    const unlisten = await embeddedDatabase().listen(channel, onMessage);
    metrics().listenerUp.set(1); // in-process: up as long as the process is
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
      metrics().listenerUp.set(0);
      c.end().catch(() => {});
      setTimeout(() => void connect().catch(() => {}), 1000);
    });
    await c.connect();
    await c.query(`LISTEN ${channel}`);
    client = c;
    metrics().listenerUp.set(1);
    onMessage("");
  };
  await connect();
  return async () => {
    closed = true;
    await client?.end();
  };
}
