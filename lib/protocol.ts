/**
 * The public chat protocol: socket.io namespace `/chat`, its event names and payloads.
 * Typed once here and shared by the server, the browser client, tests and benchmarks.
 */
import { z } from "zod";

export const CHAT_NAMESPACE = "/chat";
export const MAX_MESSAGE_CHARS = 2000;

/** Stable error codes: clients branch on these, never on messages. */
export const ErrorCode = {
  invalidPayload: "invalid_payload",
  emptyText: "empty_text",
  textTooLong: "text_too_long",
  unknownConversation: "unknown_conversation",
  conversationClosed: "conversation_closed",
  unknownMessage: "unknown_message",
  invalidToken: "invalid_token",
  busy: "busy",
  generationFailed: "generation_failed",
  unavailable: "unavailable",
  internal: "internal_error",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ChatError {
  code: ErrorCode;
  message: string;
}

const id = z.string().uuid();

export const sendSchema = z.object({
  conversationId: id.optional(),
  clientMessageId: z.string().min(1).max(100),
  text: z.string(),
});
export const stopSchema = z.object({ messageId: id });
export const historySchema = z.object({ conversationId: id });

export type SendPayload = z.infer<typeof sendSchema>;
export type StopPayload = z.infer<typeof stopSchema>;
export type HistoryPayload = z.infer<typeof historySchema>;

export type Ack<T> = ({ ok: true } & T) | { ok: false; error: ChatError };
export type SendAck = Ack<{ conversationId: string; messageId: string }>;
export type HistoryAck = Ack<{ conversationId: string; status: ConversationStatus; messages: ChatMessage[] }>;
export type StopAck = Ack<{ messageId: string }>;

export type ConversationStatus = "bot" | "waiting_for_agent" | "agent" | "closed";
export type MessageRole = "customer" | "bot" | "agent" | "system";
export type ReplyStatus = "streaming" | "complete" | "stopped" | "failed" | "interrupted";

/** A stored message as a customer may see it. */
export interface ChatMessage {
  id: string;
  conversationId: string;
  role: MessageRole;
  text: string;
  clientMessageId: string | null;
  createdAt: string;
  replyToId: string | null;
  replyStatus: ReplyStatus | null;
}

export interface ServerToClientEvents {
  /** Sent on connect: the customer's (possibly new) signed token, to keep in the browser. */
  "chat:session": (p: { customerToken: string }) => void;
  /** A stored message of one of the customer's conversations (e.g. their own, sent from another tab). */
  "chat:message": (p: ChatMessage) => void;
  /** The conversation changed hands, e.g. to `waiting_for_agent` after a handoff. */
  "chat:status": (p: { conversationId: string; status: ConversationStatus }) => void;
  /** The bot is preparing a reply: `queued` while the reply waits for a free generation slot. */
  "chat:typing": (p: { conversationId: string; messageId: string; replyToId: string; queued: boolean }) => void;
  "chat:token": (p: { conversationId: string; messageId: string; text: string }) => void;
  "chat:done": (p: { conversationId: string; messageId: string; text: string; stopped: boolean }) => void;
  "chat:error": (p: ChatError & { conversationId?: string; messageId?: string }) => void;
}

/** What staff sockets (namespace /staff) receive: every event of the conversations they watch, plus inbox nudges. */
export interface ServerToStaffEvents extends ServerToClientEvents {
  /** A conversation's inbox row may have changed: refetch it. */
  "inbox:changed": (p: { conversationId: string }) => void;
}

export interface ClientToServerEvents {
  "chat:send": (p: SendPayload, ack: (r: SendAck) => void) => void;
  "chat:stop": (p: StopPayload, ack?: (r: StopAck) => void) => void;
  "chat:history": (p: HistoryPayload, ack: (r: HistoryAck) => void) => void;
}

/** Handshake `auth` the client sends; the token is absent on a first visit. */
export interface ChatAuth {
  customerToken?: string;
}

/** Validates a customer message's text; returns the trimmed text or an error. */
export function validateText(text: string): { ok: true; text: string } | { ok: false; error: ChatError } {
  if (!text.isWellFormed())
    return { ok: false, error: { code: ErrorCode.invalidPayload, message: "Message is not valid Unicode text." } };
  // Control characters (NUL above all, which Postgres rejects) are dropped; newlines and tabs stay.
  const trimmed = text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, "").trim();
  if (trimmed.length === 0) return { ok: false, error: { code: ErrorCode.emptyText, message: "Message is empty." } };
  if (trimmed.length > MAX_MESSAGE_CHARS)
    return {
      ok: false,
      error: { code: ErrorCode.textTooLong, message: `Message is longer than ${MAX_MESSAGE_CHARS} characters.` },
    };
  return { ok: true, text: trimmed };
}

/** Parses a payload with a schema into a typed value or a stable invalid-payload error. */
export function parsePayload<T>(schema: z.ZodType<T>, payload: unknown): { ok: true; value: T } | { ok: false; error: ChatError } {
  const r = schema.safeParse(payload);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  return { ok: false, error: { code: ErrorCode.invalidPayload, message: `Invalid payload: ${where}${issue?.message ?? "malformed"}` } };
}
