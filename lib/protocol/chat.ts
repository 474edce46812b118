/**
 * The public chat protocol: socket.io namespace `/chat`, its event names, payloads and rooms.
 * Typed once here and shared by the server, the browser client, tests and benchmarks.
 */
import { z } from "zod";
import { ErrorCode, type Ack, type ChatError } from "./errors";

export const CHAT_NAMESPACE = "/chat";
export const MAX_MESSAGE_CHARS = 2000;

/** A customer's room: all their tabs. Rooms (not socket ids) are how any instance reaches them. */
export const customerRoom = (customerId: string) => `customer:${customerId}`;

const id = z.string().uuid();

export const sendSchema = z.object({
  conversationId: id.optional(),
  clientMessageId: z.string().min(1).max(100),
  text: z.string(),
});
export const stopSchema = z.object({ messageId: id });
export const historySchema = z.object({
  conversationId: id,
  /** A previous page's `olderCursor`: the page of messages before that one. */
  before: z.string().min(1).max(200).optional(),
});
export const feedbackSchema = z.object({ messageId: id, helpful: z.boolean() });
export const clarifySchema = z.object({ messageId: id, intent: z.string().min(1).max(100) });

export type SendPayload = z.infer<typeof sendSchema>;
export type StopPayload = z.infer<typeof stopSchema>;
export type HistoryPayload = z.infer<typeof historySchema>;
export type FeedbackPayload = z.infer<typeof feedbackSchema>;
export type ClarifyPayload = z.infer<typeof clarifySchema>;

export type SendAck = Ack<{ conversationId: string; messageId: string }>;
export type HistoryAck = Ack<{
  conversationId: string;
  status: ConversationStatus;
  /** The customer's rating once a closed conversation is rated, else null. */
  rating: number | null;
  /** The customer left an email address in this conversation: their next message reopens it if it is closed. */
  emailFollowUp: boolean;
  /** The newest page of messages (or the one before `before`), oldest first. */
  messages: ChatMessage[];
  /** Ask again with `before: olderCursor` for the page before this one; null when this page starts the conversation. */
  olderCursor: string | null;
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
  /**
   * Set when the facts were quoted without asking the model, because the expected wait for a
   * generation slot passed the bound (LM_DEGRADE_WAIT_MS).
   */
  underLoad?: { expectedWaitMs: number; boundMs: number };
}

/** What a bot reply rests on, stored with it: its sources and check, or the clarifying options it offered. */
export interface ReplyGrounding {
  sources: ReplySource[];
  check?: ReplyCheck;
  clarify?: ClarifyOption[];
  /** The intent the customer picked, when this reply answers a clarified question. */
  clarifiedIntent?: string;
  /** A handoff while no agent can join: the reply asks for an email address (`chat:email`). */
  askEmail?: true;
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
  /** A handoff while no agent can join: show a form for the customer's email address (`chat:email`). */
  askEmail?: true;
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
    askEmail?: true;
  }) => void;
  "chat:error": (p: ChatError & { conversationId?: string; messageId?: string }) => void;
  /** A member of staff is typing in this conversation (sent at most about once a second while they type). */
  "chat:agent-typing": (p: { conversationId: string; name: string }) => void;
  /** The customer rated a closed conversation. */
  "chat:rated": (p: { conversationId: string; rating: number; comment: string | null }) => void;
}
export const MAX_RATING_COMMENT_CHARS = 1000;

export const typingSchema = z.object({ conversationId: id });
export const rateSchema = z.object({
  conversationId: id,
  rating: z.number().int().min(1).max(5),
  comment: z.string().max(MAX_RATING_COMMENT_CHARS).nullish(),
});
export type TypingPayload = z.infer<typeof typingSchema>;
export type TypingAck = Ack<{ conversationId: string }>;
export type RatePayload = z.infer<typeof rateSchema>;
export type RateAck = Ack<{ conversationId: string; rating: number }>;

export const MAX_EMAIL_CHARS = 254;
/**
 * An email address to reply to: one line (a CR or LF would let it add mail headers), no control
 * characters, a valid address, at most 254 characters. Trimmed; the domain lower-cased.
 */
export const emailAddressSchema = z
  .string()
  .trim()
  .max(MAX_EMAIL_CHARS, `at most ${MAX_EMAIL_CHARS} characters`)
  .refine((s) => !/[\u0000-\u001F\u007F-\u009F\u2028\u2029]/.test(s), "must be one line without control characters")
  .pipe(z.email("not a valid email address"))
  .transform((s) => {
    const at = s.lastIndexOf("@");
    return `${s.slice(0, at)}@${s.slice(at + 1).toLowerCase()}`;
  });
export const emailSchema = z.object({ conversationId: id, email: emailAddressSchema });
export type EmailPayload = z.input<typeof emailSchema>;
export type EmailAck = Ack<{ conversationId: string; email: string }>;
export interface ClientToServerEvents {
  "chat:send": (p: SendPayload, ack: (r: SendAck) => void) => void;
  "chat:stop": (p: StopPayload, ack?: (r: StopAck) => void) => void;
  "chat:history": (p: HistoryPayload, ack: (r: HistoryAck) => void) => void;
  /**
   * The customer is typing (throttled); staff watching the conversation see it. The acknowledgement is
   * optional (the browser sends none): it comes once the event is handled, relayed or not.
   */
  "chat:typing": (p: TypingPayload, ack?: (r: TypingAck) => void) => void;
  /** Rates one's own closed conversation 1-5, once, with an optional comment. */
  "chat:rate": (p: RatePayload, ack: (r: RateAck) => void) => void;
  /** "Did this answer your question?" on one of one's own bot replies, once. */
  "chat:feedback": (p: FeedbackPayload, ack: (r: FeedbackAck) => void) => void;
  /** Picks one option of a clarifying question (once); the bot then answers the question as that intent. */
  "chat:clarify": (p: ClarifyPayload, ack: (r: ClarifyAck) => void) => void;
  /**
   * Leaves an email address for one's own open conversation while no agent can join: stored on the
   * customer, and agents' replies then also go there by email while the customer is away.
   */
  "chat:email": (p: EmailPayload, ack: (r: EmailAck) => void) => void;
}

/** The events a client may send, by namespace, for the server to refuse others (and tests to cover all). */
export const CLIENT_EVENTS = ["chat:send", "chat:stop", "chat:history", "chat:typing", "chat:rate", "chat:feedback", "chat:clarify", "chat:email"] as const satisfies readonly (keyof ClientToServerEvents)[];

/** Validates a customer message's text; returns the trimmed text or an error. */
export function validateText(text: string): { ok: true; text: string } | { ok: false; error: ChatError } {
  if (!text.isWellFormed())
    return { ok: false, error: { code: ErrorCode.invalidPayload, message: "Message is not valid Unicode text." } };
  // Control characters (NUL above all, which Postgres rejects, and C1 ones such as U+0085, which
  // Python's str.strip() treats as whitespace but JS's trim() keeps) are dropped; newlines and tabs
  // stay. Line and paragraph separators become plain newlines. What is left trims the same in JS and
  // Python, so a stored message is never empty text to the trainer (training/snapshot.py).
  const trimmed = text
    .replace(/[\u2028\u2029]/g, "\n")
    .replace(/[^\P{Cc}\t\n\r]/gu, "")
    .trim();
  if (trimmed.length === 0) return { ok: false, error: { code: ErrorCode.emptyText, message: "Message is empty." } };
  if (trimmed.length > MAX_MESSAGE_CHARS)
    return {
      ok: false,
      error: { code: ErrorCode.textTooLong, message: `Message is longer than ${MAX_MESSAGE_CHARS} characters.` },
    };
  return { ok: true, text: trimmed };
}
