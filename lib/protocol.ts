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
  /** An event name the namespace does not have. */
  unknownEvent: "unknown_event",
  emptyText: "empty_text",
  textTooLong: "text_too_long",
  unknownConversation: "unknown_conversation",
  conversationClosed: "conversation_closed",
  unknownMessage: "unknown_message",
  invalidToken: "invalid_token",
  busy: "busy",
  /** Too many messages or connections for this customer or address; retry after `retryAfterMs`. */
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
  notClosed: "not_closed",
  alreadyRated: "already_rated",
  /** Feedback or a clarification for a message that is not such a bot reply of the customer's. */
  notApplicable: "not_applicable",
  /** Feedback already given, or a clarification already answered. */
  alreadyAnswered: "already_answered",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ChatError {
  code: ErrorCode;
  message: string;
  /** With `rate_limited`: when the client may try again. */
  retryAfterMs?: number;
  /** Set when the same request may succeed if sent again later (e.g. `unavailable` while the database is down). */
  retryable?: boolean;
}

const id = z.string().uuid();

export const sendSchema = z.object({
  conversationId: id.optional(),
  clientMessageId: z.string().min(1).max(100),
  text: z.string(),
});
export const stopSchema = z.object({ messageId: id });
export const historySchema = z.object({ conversationId: id });
export const feedbackSchema = z.object({ messageId: id, helpful: z.boolean() });
export const clarifySchema = z.object({ messageId: id, intent: z.string().min(1).max(100) });

export type SendPayload = z.infer<typeof sendSchema>;
export type StopPayload = z.infer<typeof stopSchema>;
export type HistoryPayload = z.infer<typeof historySchema>;
export type FeedbackPayload = z.infer<typeof feedbackSchema>;
export type ClarifyPayload = z.infer<typeof clarifySchema>;

export type Ack<T> = ({ ok: true } & T) | { ok: false; error: ChatError };
export type SendAck = Ack<{ conversationId: string; messageId: string }>;
export type HistoryAck = Ack<{
  conversationId: string;
  status: ConversationStatus;
  /** The customer's rating once a closed conversation is rated, else null. */
  rating: number | null;
  messages: ChatMessage[];
}>;
export type StopAck = Ack<{ messageId: string }>;
export type FeedbackAck = Ack<{ messageId: string; helpful: boolean }>;
/** Acknowledges the pick; the bot's answer to the clarified question then streams as any reply. */
export type ClarifyAck = Ack<{ messageId: string; intent: string }>;

export type ConversationStatus = "bot" | "waiting_for_agent" | "agent" | "closed";
export type MessageRole = "customer" | "bot" | "agent" | "system";
export type ReplyStatus = "streaming" | "complete" | "stopped" | "failed" | "interrupted";

/** A help-centre article a bot reply is grounded in; `url` is its public page (`/help/<slug>`). */
export interface ReplySource {
  slug: string;
  title: string;
  url: string;
}

/** One answer to a clarifying question: an intent, by its customer-facing title. */
export interface ClarifyOption {
  intent: string;
  title: string;
}

/** How a grounded reply was checked: each generated sentence, sent or dropped with why. */
export interface ReplyCheck {
  facts: { id: string; text: string; score: number; article: { slug: string; title: string; version: number } }[];
  sentences: {
    text: string;
    sent: boolean;
    /** Why a sentence was not sent. */
    reason?: "invented" | "unsupported" | "contradicts" | "meta" | "repeats" | "incomplete" | "does_not_cover";
    detail?: string;
  }[];
  /** Fact ids sent verbatim: all of the reply's when the model's words were replaced. */
  quoted: string[];
  replaced: boolean;
}

/** What a bot reply rests on, stored with it: its sources and check, or the clarifying options it offered. */
export interface ReplyGrounding {
  sources: ReplySource[];
  check?: ReplyCheck;
  clarify?: ClarifyOption[];
  /** The customer message a clarification answered, when this reply answers one. */
  clarifiedIntent?: string;
}

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
  /** Bot replies: the articles the reply is grounded in (empty for others). */
  sources: ReplySource[];
  /** Bot replies that ask "Do you mean …?": the options, one button each. */
  clarify: ClarifyOption[] | null;
  /** Bot replies: the customer's "Did this answer your question?", null until given. */
  helpful: boolean | null;
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
  /** A piece of a reply; `offset` is where `text` starts in the reply's text (see `extendReply`). */
  "chat:token": (p: { conversationId: string; messageId: string; text: string; offset: number }) => void;
  /** A reply is complete: its final text, its sources, and, for a clarifying question, the options. */
  "chat:done": (p: {
    conversationId: string;
    messageId: string;
    text: string;
    stopped: boolean;
    sources: ReplySource[];
    clarify: ClarifyOption[] | null;
  }) => void;
  "chat:error": (p: ChatError & { conversationId?: string; messageId?: string }) => void;
  /** A member of staff is typing in this conversation (sent at most about once a second while they type). */
  "chat:agent-typing": (p: { conversationId: string; name: string }) => void;
  /** The customer rated a closed conversation. */
  "chat:rated": (p: { conversationId: string; rating: number; comment: string | null }) => void;
}

/** What staff sockets (namespace /staff) receive: every event of the conversations they watch, plus inbox nudges. */
export interface ServerToStaffEvents extends ServerToClientEvents {
  /** A conversation's inbox row may have changed: refetch it. */
  "inbox:changed": (p: { conversationId: string }) => void;
  /** The customer is typing in a watched conversation (at most about once a second). */
  "chat:customer-typing": (p: { conversationId: string }) => void;
  /** A watched conversation's state after a take over, hand back, close or rating. */
  "staff:conversation": (p: StaffConversationState) => void;
}

/** Who owns a conversation and how it ended, as staff see it. */
export interface StaffConversationState {
  conversationId: string;
  status: ConversationStatus;
  assignedStaff: { id: string; name: string } | null;
  rating: number | null;
  ratingComment: string | null;
}

export const MAX_RATING_COMMENT_CHARS = 1000;

export const typingSchema = z.object({ conversationId: id });
export const rateSchema = z.object({
  conversationId: id,
  rating: z.number().int().min(1).max(5),
  comment: z.string().max(MAX_RATING_COMMENT_CHARS).nullish(),
});
export type TypingPayload = z.infer<typeof typingSchema>;
export type RatePayload = z.infer<typeof rateSchema>;
export type RateAck = Ack<{ conversationId: string; rating: number }>;

/** Staff events that name one conversation. */
export const staffConversationSchema = z.object({ conversationId: id });
export const staffSendSchema = z.object({
  conversationId: id,
  clientMessageId: z.string().min(1).max(100),
  text: z.string(),
});
export type StaffConversationPayload = z.infer<typeof staffConversationSchema>;
export type StaffSendPayload = z.infer<typeof staffSendSchema>;
export type StaffStateAck = Ack<StaffConversationState>;
export type StaffSendAck = Ack<{ conversationId: string; messageId: string }>;
export type StaffOkAck = Ack<{ conversationId: string }>;

/** What staff sockets (namespace /staff) may send; every event answers through its acknowledgement. */
export interface StaffToServerEvents {
  /** Start receiving a conversation's events (room conversation:<id>); acks its current state. */
  "staff:watch": (p: StaffConversationPayload, ack: (r: StaffStateAck) => void) => void;
  "staff:unwatch": (p: StaffConversationPayload, ack?: (r: StaffOkAck) => void) => void;
  /** Moves a bot or waiting conversation to this agent (status `agent`); the bot stops replying. */
  "staff:takeover": (p: StaffConversationPayload, ack: (r: StaffStateAck) => void) => void;
  /** A message from the assigned agent to the customer; idempotent by clientMessageId. */
  "staff:send": (p: StaffSendPayload, ack: (r: StaffSendAck) => void) => void;
  "staff:typing": (p: StaffConversationPayload, ack?: (r: StaffOkAck) => void) => void;
  /** Gives the conversation back to the bot (status `bot`). */
  "staff:handback": (p: StaffConversationPayload, ack: (r: StaffStateAck) => void) => void;
  /** Ends the conversation (status `closed`); the customer is asked for a rating. */
  "staff:close": (p: StaffConversationPayload, ack: (r: StaffStateAck) => void) => void;
}

export interface ClientToServerEvents {
  "chat:send": (p: SendPayload, ack: (r: SendAck) => void) => void;
  "chat:stop": (p: StopPayload, ack?: (r: StopAck) => void) => void;
  "chat:history": (p: HistoryPayload, ack: (r: HistoryAck) => void) => void;
  /** The customer is typing (throttled); staff watching the conversation see it. */
  "chat:typing": (p: TypingPayload) => void;
  /** Rates one's own closed conversation 1-5, once, with an optional comment. */
  "chat:rate": (p: RatePayload, ack: (r: RateAck) => void) => void;
  /** "Did this answer your question?" on one of one's own bot replies, once. */
  "chat:feedback": (p: FeedbackPayload, ack: (r: FeedbackAck) => void) => void;
  /** Picks one option of a clarifying question (once); the bot then answers the question as that intent. */
  "chat:clarify": (p: ClarifyPayload, ack: (r: ClarifyAck) => void) => void;
}

/** The events a client may send, by namespace, for the server to refuse others (and tests to cover all). */
export const CLIENT_EVENTS = ["chat:send", "chat:stop", "chat:history", "chat:typing", "chat:rate", "chat:feedback", "chat:clarify"] as const satisfies readonly (keyof ClientToServerEvents)[];
export const STAFF_EVENTS = [
  "staff:watch",
  "staff:unwatch",
  "staff:takeover",
  "staff:send",
  "staff:typing",
  "staff:handback",
  "staff:close",
] as const satisfies readonly (keyof StaffToServerEvents)[];

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

/** A live piece of a streaming reply: `text` starts at `offset` (UTF-16 code units) of the reply's text. */
export interface ReplyPiece {
  offset: number;
  text: string;
}

/**
 * Extends the text a client has of a reply with live pieces, by offset: what it already has is
 * skipped (no duplicates after a reconnect replayed the stored text) and a piece beyond its end waits
 * (no gaps) until the text before it arrives, from another piece or the stored history.
 */
export function extendReply(text: string, pieces: ReplyPiece[]): { text: string; waiting: ReplyPiece[] } {
  const waiting: ReplyPiece[] = [];
  for (const p of [...pieces].sort((a, b) => a.offset - b.offset)) {
    if (p.offset > text.length) waiting.push(p);
    else if (p.offset + p.text.length > text.length) text += p.text.slice(text.length - p.offset);
  }
  return { text, waiting };
}
