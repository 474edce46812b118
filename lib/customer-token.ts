/**
 * Anonymous customers are identified by a signed token kept in their browser:
 * `v1.<customerId>.<hmac>`. Any instance holding the secret can verify it; nothing is stored per token.
 * Secrets rotate: tokens are signed with the current secret and verified with it or any previous one,
 * so a customer whose token was signed with an old secret keeps their conversations and gets a new token.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function mac(customerId: string, secret: string): string {
  return createHmac("sha256", secret).update(`v1.${customerId}`).digest("base64url");
}

export function signCustomerToken(customerId: string, secret: string): string {
  return `v1.${customerId}.${mac(customerId, secret)}`;
}

export function mintCustomerToken(secret: string): { customerId: string; token: string } {
  const customerId = randomUUID();
  return { customerId, token: signCustomerToken(customerId, secret) };
}

/** Returns the customer id of a token signed with `secret`, or null for anything forged or malformed. */
export function verifyCustomerToken(token: unknown, secret: string): string | null {
  if (typeof token !== "string" || token.length > 200) return null;
  const [version, customerId, given, extra] = token.split(".");
  if (version !== "v1" || !customerId || !given || extra !== undefined || !UUID.test(customerId)) return null;
  const expected = Buffer.from(mac(customerId, secret));
  const candidate = Buffer.from(given);
  return candidate.length === expected.length && timingSafeEqual(candidate, expected) ? customerId : null;
}

/**
 * Checks a token against the current secret (first) and the previous ones. Returns the customer id and
 * whether the token is signed with the current secret (else it should be re-issued), or null.
 */
export function verifyRotatedCustomerToken(token: unknown, secrets: readonly string[]): { customerId: string; current: boolean } | null {
  for (const [index, secret] of secrets.entries()) {
    const customerId = verifyCustomerToken(token, secret);
    if (customerId) return { customerId, current: index === 0 };
  }
  return null;
}
