/**
 * The errors every socket namespace and its clients share: stable codes, the error shape, the
 * acknowledgement envelope and payload validation into an invalid-payload error.
 */
import type { z } from "zod";

/** Stable error codes: clients branch on these, never on messages. */
export const ErrorCode = {
  invalidPayload: "invalid_payload",
  /** An event name the namespace does not have. */
  unknownEvent: "unknown_event",
  emptyText: "empty_text",
  textTooLong: "text_too_long",
  unknownConversation: "unknown_conversation",
  conversationClosed: "conversation_closed",
  /** The conversation has reached its length cap (MAX_CONVERSATION_MESSAGES): start a new one. */
  conversationFull: "conversation_full",
  unknownMessage: "unknown_message",
  invalidToken: "invalid_token",
  /** Too many messages waiting for an answer (this customer's, this address's, or everyone's): nothing was stored; retry after `retryAfterMs`. */
  busy: "busy",
  /** Too many messages, events or connections for this socket, customer or address; retry after `retryAfterMs`. */
  rateLimited: "rate_limited",
  generationFailed: "generation_failed",
  unavailable: "unavailable",
  internal: "internal_error",
  // Staff console and the end of a conversation.
  unauthenticated: "unauthenticated",
  forbidden: "forbidden",
  alreadyAssigned: "already_assigned",
  notAssigned: "not_assigned",
  invalidState: "invalid_state",
  /** Reassigning to someone who is not a support agent (or no one). */
  unknownAgent: "unknown_agent",
  /** Reassigning to a disabled account. */
  agentDisabled: "agent_disabled",
  /** Reassigning to an agent who is away. */
  agentOffline: "agent_offline",
  notClosed: "not_closed",
  alreadyRated: "already_rated",
  /** Feedback or a clarification for a message that is not such a bot reply of the customer's. */
  notApplicable: "not_applicable",
  /** Feedback already given, or a clarification already answered. */
  alreadyAnswered: "already_answered",
  /** An email address that is not one valid, single-line address. */
  invalidEmail: "invalid_email",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ChatError {
  code: ErrorCode;
  message: string;
  /** With `rate_limited` and `busy`: when the client may try again. */
  retryAfterMs?: number;
  /** Set when the same request may succeed if sent again later (e.g. `unavailable` while the database is down). */
  retryable?: boolean;
}

export type Ack<T> = ({ ok: true } & T) | { ok: false; error: ChatError };

/** Parses a payload with a schema into a typed value or a stable invalid-payload error. */
export function parsePayload<T>(schema: z.ZodType<T>, payload: unknown): { ok: true; value: T } | { ok: false; error: ChatError } {
  const r = schema.safeParse(payload);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  return { ok: false, error: { code: ErrorCode.invalidPayload, message: `Invalid payload: ${where}${issue?.message ?? "malformed"}` } };
}
