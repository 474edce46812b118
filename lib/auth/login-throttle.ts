/**
 * The login throttle: attempts per client address and per email, counted before any password is
 * checked, so a flood of guesses costs neither argon2 time nor audit rows. In memory by default; in
 * Redis when REDIS_URL is set, so every instance counts together (as lib/socket/rate-limits.ts).
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { config } from "../config";
import { redisClient } from "../redis";
import { authConfig } from "./config";

let limiters: Promise<{ perAddress: RateLimiterAbstract; perAccount: RateLimiterAbstract }> | undefined;

function loginLimiters() {
  limiters ??= (async () => {
    const { REDIS_URL } = config();
    const auth = authConfig();
    const redis = REDIS_URL ? await redisClient(REDIS_URL) : undefined;
    const limiter = (keyPrefix: string, points: number): RateLimiterAbstract => {
      const opts = { keyPrefix: `loopdesk:rl:${keyPrefix}`, points, duration: auth.LOGIN_THROTTLE_MINUTES * 60 };
      if (!redis) return new RateLimiterMemory(opts);
      return new RateLimiterRedis({ ...opts, storeClient: redis, useRedisPackage: true, insuranceLimiter: new RateLimiterMemory(opts) });
    };
    return { perAddress: limiter("login-address", auth.LOGIN_ATTEMPTS_PER_ADDRESS), perAccount: limiter("login-account", auth.LOGIN_ATTEMPTS_PER_ACCOUNT) };
  })();
  return limiters;
}

/**
 * Counts one login attempt; returns how long to wait when it is over either limit, else null. The
 * email is counted whether or not an account has it, so the answer says nothing about which exist.
 */
export async function throttleLogin(address: string, email: string): Promise<number | null> {
  const { perAddress, perAccount } = await loginLimiters();
  try {
    await perAddress.consume(address);
    await perAccount.consume(email);
    return null;
  } catch (res) {
    if (!(res instanceof RateLimiterRes)) throw res;
    return res.msBeforeNext;
  }
}
