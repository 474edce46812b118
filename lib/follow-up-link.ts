/**
 * The link in a follow-up email: `/follow-up/<payload>.<hmac>`, where the payload names the customer,
 * the conversation and when the link expires. Whoever holds it becomes that customer in the chat (the
 * email went to them), so it is signed with a key of its own (derived from the customer-token secret)
 * and expires (FOLLOW_UP_LINK_DAYS).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";

const payloadSchema = z.object({ c: z.string().uuid(), u: z.string().uuid(), e: z.number().int() });

const key = (secret: string) => createHmac("sha256", secret).update("loopdesk follow-up link v1").digest();
const mac = (payload: string, secret: string) => createHmac("sha256", key(secret)).update(payload).digest("base64url");

export function signFollowUpLink(link: { conversationId: string; customerId: string; expiresAt: Date }, secret: string): string {
  const payload = Buffer.from(
    JSON.stringify({ c: link.conversationId, u: link.customerId, e: Math.floor(link.expiresAt.getTime() / 1000) }),
  ).toString("base64url");
  return `${payload}.${mac(payload, secret)}`;
}

export type FollowUpLinkCheck =
  | { ok: true; conversationId: string; customerId: string }
  | { ok: false; reason: "invalid" | "expired" };

/** Checks a link token against the current and previous secrets, then its expiry. */
export function verifyFollowUpLink(token: string, secrets: readonly string[], now = new Date()): FollowUpLinkCheck {
  const [payload, given, extra] = token.split(".");
  if (!payload || !given || extra !== undefined || token.length > 400) return { ok: false, reason: "invalid" };
  const signed = secrets.some((secret) => {
    const expected = Buffer.from(mac(payload, secret));
    const candidate = Buffer.from(given);
    return candidate.length === expected.length && timingSafeEqual(candidate, expected);
  });
  if (!signed) return { ok: false, reason: "invalid" };
  const parsed = payloadSchema.safeParse(safeJson(Buffer.from(payload, "base64url").toString("utf8")));
  if (!parsed.success) return { ok: false, reason: "invalid" };
  if (parsed.data.e * 1000 <= now.getTime()) return { ok: false, reason: "expired" };
  return { ok: true, conversationId: parsed.data.c, customerId: parsed.data.u };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
