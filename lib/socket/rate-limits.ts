/**
 * Rate limits on the sockets: messages per customer and per address, `/chat` connections per address,
 * and staff and ML handshakes per address (each costs a session lookup, so a flood of random cookies is
 * refused before it reaches the database).
 * In memory by default; in Redis when REDIS_URL is set, so the limits hold across instances (with an
 * in-memory fallback while Redis is unreachable).
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { config } from "../config";
import { ErrorCode, type ChatError } from "../protocol/errors";
import { redisClient } from "../redis";

export interface SocketRateLimits {
  /** A refusal to send back, or null when the message may go through. */
  message(customerId: string, ip: string): Promise<ChatError | null>;
  connection(ip: string): Promise<ChatError | null>;
  staffHandshake(ip: string): Promise<ChatError | null>;
}

let limits: Promise<SocketRateLimits> | undefined;

/** The process's limits, shared by every namespace. */
export function socketRateLimits(): Promise<SocketRateLimits> {
  limits ??= createLimits();
  return limits;
}

/**
 * Makes limiters of `points` per `seconds`, keyed under the deployment's REDIS_KEY_PREFIX: in Redis when
 * REDIS_URL is set (with an in-memory fallback while it is unreachable), else in memory.
 */
export async function rateLimiterMaker(): Promise<(name: string, points: number, seconds: number) => RateLimiterAbstract> {
  const cfg = config();
  const redis = cfg.REDIS_URL ? await redisClient(cfg.REDIS_URL) : undefined;
  return (name, points, seconds) => {
    const opts = { keyPrefix: `${cfg.REDIS_KEY_PREFIX}:rl:${name}`, points, duration: seconds };
    if (!redis) return new RateLimiterMemory(opts);
    return new RateLimiterRedis({ ...opts, storeClient: redis, useRedisPackage: true, insuranceLimiter: new RateLimiterMemory(opts) });
  };
}

async function createLimits(): Promise<SocketRateLimits> {
  const cfg = config();
  const make = await rateLimiterMaker();
  const limiter = (name: string, points: number) => make(name, points, cfg.RATE_LIMIT_WINDOW_SECONDS);
  const perCustomer = limiter("msg-customer", cfg.RATE_LIMIT_MESSAGES_PER_CUSTOMER);
  const perIp = limiter("msg-ip", cfg.RATE_LIMIT_MESSAGES_PER_IP);
  const connections = limiter("conn-ip", cfg.RATE_LIMIT_CONNECTIONS_PER_IP);
  const staffHandshakes = limiter("staff-conn-ip", cfg.RATE_LIMIT_CONNECTIONS_PER_IP);
  return {
    message: async (customerId, ip) =>
      (await refusal(perCustomer, customerId, "You are sending messages too quickly")) ??
      (await refusal(perIp, ip, "Too many messages from your network")),
    connection: (ip) => refusal(connections, ip, "Too many connections from your network"),
    staffHandshake: (ip) => refusal(staffHandshakes, ip, "Too many connections from your network"),
  };
}

async function refusal(limiter: RateLimiterAbstract, key: string, what: string): Promise<ChatError | null> {
  try {
    await limiter.consume(key);
    return null;
  } catch (res) {
    if (!(res instanceof RateLimiterRes)) throw res;
    const seconds = Math.ceil(res.msBeforeNext / 1000);
    return { code: ErrorCode.rateLimited, message: `${what}; please try again in ${seconds} s.`, retryAfterMs: res.msBeforeNext };
  }
}
