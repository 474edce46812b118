/**
 * Redis, when REDIS_URL is set: one shared client for rate limits and the socket.io adapter's
 * publisher, plus the adapter's subscriber, so several instances share rooms and limits.
 */
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient, type RedisClientType } from "redis";
import { log } from "./log";

let shared: Promise<RedisClientType> | undefined;

/** The process's Redis client, connected on first use. */
export function redisClient(url: string): Promise<RedisClientType> {
  shared ??= (async () => {
    const client: RedisClientType = createClient({ url });
    // Without a listener a lost connection would crash the process; the client reconnects by itself.
    client.on("error", (err: unknown) => log.error({ err }, "redis error"));
    await client.connect();
    return client;
  })();
  return shared;
}

/** socket.io's Redis adapter: events to a room reach the sockets in it on every instance. */
export async function redisAdapter(url: string, keyPrefix: string): Promise<ReturnType<typeof createAdapter>> {
  const pub = await redisClient(url);
  const sub = pub.duplicate();
  sub.on("error", (err: unknown) => log.error({ err }, "redis subscriber error"));
  await sub.connect();
  // Its channels carry the deployment's prefix: only instances with the same REDIS_KEY_PREFIX share rooms and Stop.
  return createAdapter(pub, sub, { key: `${keyPrefix}:socket.io` });
}
