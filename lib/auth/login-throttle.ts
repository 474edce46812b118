/**
 * The login throttle: attempts per client address and per email, counted before any password is
 * checked, so a flood of guesses costs neither argon2 time nor audit rows. In memory by default; in
 * Redis when REDIS_URL is set, so every instance counts together (as lib/socket/rate-limits.ts).
 */
import { RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { rateLimiterMaker } from "../socket/rate-limits";
import { authConfig } from "./config";

let limiters: Promise<{ perAddress: RateLimiterAbstract; perAccount: RateLimiterAbstract }> | undefined;

function loginLimiters() {
  limiters ??= (async () => {
    const auth = authConfig();
    const make = await rateLimiterMaker();
    const limiter = (name: string, points: number) => make(name, points, auth.LOGIN_THROTTLE_MINUTES * 60);
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
