/** LISTEN on a Postgres channel with either database: a dedicated pg connection, or PGlite's own listen. */
import pg from "pg";
import { config } from "../config";
import { log } from "../log";
import { embeddedDatabase } from "./client";

export async function listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>> {
  const url = config().DATABASE_URL;
  if (!url) {
    const unlisten = await embeddedDatabase().listen(channel, onMessage);
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
      c.end().catch(() => {});
      setTimeout(() => void connect().catch(() => {}), 1000);
    });
    await c.connect();
    await c.query(`LISTEN ${channel}`);
    client = c;
    onMessage("");
  };
  await connect();
  return async () => {
    closed = true;
    await client?.end();
  };
}
