/**
 * Anonymous customers are identified by a signed token kept in their browser:
 * `v1.<customerId>.<hmac>`. Any instance holding the secret can verify it; nothing is stored per token.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function sign(customerId: string, secret: string): string {
  return createHmac("sha256", secret).update(`v1.${customerId}`).digest("base64url");
}

export function mintCustomerToken(secret: string): { customerId: string; token: string } {
  const customerId = randomUUID();
  return { customerId, token: `v1.${customerId}.${sign(customerId, secret)}` };
}

/** Returns the customer id of a valid token, or null for anything forged or malformed. */
export function verifyCustomerToken(token: unknown, secret: string): string | null {
  if (typeof token !== "string" || token.length > 200) return null;
  const [version, customerId, mac] = token.split(".");
  if (version !== "v1" || !customerId || !mac || !UUID.test(customerId)) return null;
  const expected = Buffer.from(sign(customerId, secret));
  const given = Buffer.from(mac);
  return given.length === expected.length && timingSafeEqual(given, expected) ? customerId : null;
}
