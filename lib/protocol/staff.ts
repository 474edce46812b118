/**
 * The staff console's contract: socket.io namespace `/staff` (its rooms, events and payloads) and the
 * shapes of `/api/staff/*` (the inbox query, what the inbox, the review queue and the live
 * transcript return). Dates are ISO strings (they cross JSON and the server/client component
 * boundary). Plain types, values and zod schemas, so client components may import this file.
 */
import { z } from "zod";
import type { Ack } from "./errors";
import type { ConversationStatus, MessageRole, ReplyGrounding, ReplyStatus, ServerToClientEvents } from "./chat";

export const STAFF_NAMESPACE = "/staff";
/** The room of every staff socket: inbox nudges go there. */
export const INBOX_ROOM = "inbox";
/** The staff watching one conversation. */
export const conversationRoom = (conversationId: string) => `conversation:${conversationId}`;

const id = z.string().uuid();

/** What staff sockets (namespace /staff) receive: every event of the conversations they watch, plus inbox nudges. */
export interface ServerToStaffEvents extends ServerToClientEvents {
  /** A conversation's inbox row may have changed: refetch it. */
  "inbox:changed": (p: { conversationId: string }) => void;
  /** The customer is typing in a watched conversation (at most about once a second). */
  "chat:customer-typing": (p: { conversationId: string }) => void;
  /** A watched conversation's state after a take over, hand back, close or rating. */
  "staff:conversation": (p: StaffConversationState) => void;
  /** A private note added to a watched conversation (staff only: never sent on /chat). */
  "staff:note": (p: StaffNote) => void;
  /** Who has a watched conversation open right now (across every server instance); sent whenever that changes. */
  "staff:presence": (p: StaffPresence) => void;
  /** Another staff member is typing in a watched conversation (at most about once a second while they type). */
  "staff:typing": (p: { conversationId: string; staff: StaffPerson }) => void;
}

/** A member of staff as other staff see them. */
export interface StaffPerson {
  id: string;
  name: string;
}

/** The staff viewing a conversation (each person once, however many tabs), by name. */
export interface StaffPresence {
  conversationId: string;
  viewers: StaffPerson[];
}

/** Who owns a conversation and how it ended, as staff see it. */
export interface StaffConversationState {
  conversationId: string;
  status: ConversationStatus;
  assignedStaff: { id: string; name: string } | null;
  rating: number | null;
  ratingComment: string | null;
}
/** Staff events that name one conversation. */
export const staffConversationSchema = z.object({ conversationId: id });
/** A take-over; `force` takes a conversation assigned to another agent from them (audited). */
export const staffTakeoverSchema = z.object({ conversationId: id, force: z.boolean().optional() });
/** Reassigning a conversation to another (online, enabled) support agent. */
export const staffAssignSchema = z.object({ conversationId: id, staffId: id });
export const staffSendSchema = z.object({
  conversationId: id,
  clientMessageId: z.string().min(1).max(100),
  text: z.string(),
});
/** A private note: text as for a chat message (lib/protocol/chat.ts validateText: not empty, at most MAX_MESSAGE_CHARS). */
export const staffNoteSchema = z.object({ conversationId: id, text: z.string() });
export type StaffConversationPayload = z.infer<typeof staffConversationSchema>;
export type StaffSendPayload = z.infer<typeof staffSendSchema>;
export type StaffStateAck = Ack<StaffConversationState>;
export type StaffSendAck = Ack<{ conversationId: string; messageId: string }>;
export type StaffOkAck = Ack<{ conversationId: string }>;
export type StaffNoteAck = Ack<{ note: StaffNote }>;

/** A private note staff wrote about a conversation; customers never receive it. */
export interface StaffNote {
  id: string;
  conversationId: string;
  text: string;
  createdAt: string;
  /** The author's name (null once their account is gone). */
  authorName: string | null;
}

/** What staff sockets (namespace /staff) may send; every event answers through its acknowledgement. */
export interface StaffToServerEvents {
  /** Start receiving a conversation's events (room conversation:<id>); acks its current state. */
  "staff:watch": (p: StaffConversationPayload, ack: (r: StaffStateAck) => void) => void;
  "staff:unwatch": (p: StaffConversationPayload, ack?: (r: StaffOkAck) => void) => void;
  /**
   * Moves a bot or waiting conversation to this agent (status `agent`); the bot stops replying. One
   * assigned to another agent needs `force: true` (else `already_assigned`).
   */
  "staff:takeover": (p: z.infer<typeof staffTakeoverSchema>, ack: (r: StaffStateAck) => void) => void;
  /** Gives a waiting or assigned conversation to another online agent (admin or the current assignee only). */
  "staff:assign": (p: z.infer<typeof staffAssignSchema>, ack: (r: StaffStateAck) => void) => void;
  /** A message from the assigned agent to the customer; idempotent by clientMessageId. */
  "staff:send": (p: StaffSendPayload, ack: (r: StaffSendAck) => void) => void;
  "staff:typing": (p: StaffConversationPayload, ack?: (r: StaffOkAck) => void) => void;
  /** Gives the conversation back to the bot (status `bot`). */
  "staff:handback": (p: StaffConversationPayload, ack: (r: StaffStateAck) => void) => void;
  /** Ends the conversation (status `closed`); the customer is asked for a rating. */
  "staff:close": (p: StaffConversationPayload, ack: (r: StaffStateAck) => void) => void;
  /** Adds a private note (any support staff, any open conversation); the staff watching get `staff:note`. */
  "staff:note": (p: z.infer<typeof staffNoteSchema>, ack: (r: StaffNoteAck) => void) => void;
}

/** The events a staff socket may send, for the server to refuse others (and tests to cover all). */
export const STAFF_EVENTS = [
  "staff:watch",
  "staff:unwatch",
  "staff:takeover",
  "staff:assign",
  "staff:send",
  "staff:typing",
  "staff:handback",
  "staff:close",
  "staff:note",
] as const satisfies readonly (keyof StaffToServerEvents)[];

// ---------------------------------------------------------------------------------------------
// The REST API

/** Whether an agent takes new chats (set in the console header). */
export const AVAILABILITIES = ["online", "away"] as const;
export type Availability = (typeof AVAILABILITIES)[number];
/** GET /api/staff/availability answers it; PUT takes it (`{ availability }`) and answers it. */
export const availabilitySchema = z.strictObject({ availability: z.enum(AVAILABILITIES) });
export type AvailabilityBody = z.infer<typeof availabilitySchema>;

/** GET /api/staff/agents: the support staff a conversation can be assigned to, online first. */
export interface AssignableAgent extends StaffPerson {
  availability: Availability;
  /** Conversations assigned to them with status `agent`. */
  openChats: number;
}

export type LabelSource = "confirmed" | "corrected" | "customer_clarification";
export type ReplyFeedback = "good" | "bad";

/** The newest IntentLabel of a message: the one that wins in the next dataset export. */
export interface StaffLabel {
  intent: string;
  source: LabelSource;
  /** The labelling staff member's email. */
  labeledBy: string;
  createdAt: string;
}

/** One message of a conversation as staff see it, with the classifier's and the LM's metadata. */
export interface StaffMessage {
  id: string;
  conversationId: string;
  role: MessageRole;
  text: string;
  createdAt: string;

  // Customer messages: the classifier's verdict and staff's label.
  intent: string | null;
  intentProbability: number | null;
  runnerUpIntent: string | null;
  runnerUpProbability: number | null;
  classifierVersion: string | null;
  reviewed: boolean;
  latestLabel: StaffLabel | null;

  // Bot messages: how the reply was generated, and staff's verdict on it.
  modelVersion: string | null;
  timeToFirstTokenMs: number | null;
  tokenCount: number | null;
  generationMs: number | null;
  replyStatus: ReplyStatus | null;
  feedback: ReplyFeedback | null;
  /** Email of whoever gave the feedback. */
  feedbackBy: string | null;
  /** What the reply rests on: its sources and sentence check, or the clarifying options it offered. */
  grounding: ReplyGrounding | null;
  /** The customer's "Did this answer your question?" (👍 true, 👎 false), null until given. */
  customerHelpful: boolean | null;

  /** Agent messages: the author's name. */
  authorName: string | null;
  /** Bot replies marked Bad and agent messages: the language-model training example staff made of it. */
  lmExample: StaffLmExample | null;
}

/**
 * A language-model training example made from a transcript: the right answer staff wrote for a bot
 * reply marked Bad (`staff_correction`), or an agent's own reply marked "use for training"
 * (`agent_reply`). The prompt it trains is the answered turn as serving renders it.
 */
export interface StaffLmExample {
  id: string;
  origin: "staff_correction" | "agent_reply";
  /** The help-centre sentences the answer rests on. */
  facts: string[];
  answer: string;
  /** Email of whoever last approved it. */
  approvedBy: string;
  updatedAt: string;
}

/** POST /api/staff/messages/[id]/lm-example: a bot reply marked Bad needs the right answer; an agent's
 *  message is used as written unless `answer` is given. PATCH /api/staff/lm-examples/[id] needs `answer`. */
export const lmExampleSaveSchema = z.strictObject({ answer: z.string().max(10_000).optional() });
export const lmExampleEditSchema = z.strictObject({ answer: z.string().max(10_000) });
export type LmExampleSave = z.infer<typeof lmExampleSaveSchema>;

/** What POST …/lm-example and PATCH /api/staff/lm-examples/[id] answer (DELETE answers 204). */
export interface LmExampleResponse {
  example: StaffLmExample;
}

/** One row of the inbox. */
export interface ConversationSummary {
  id: string;
  customerId: string;
  status: ConversationStatus;
  createdAt: string;
  lastMessageAt: string;
  lastMessagePreview: string;
  /** The intent of the latest classified customer message. */
  lastIntent: string | null;
  /** The lowest top-intent probability of any customer message in the conversation. */
  minIntentProbability: number | null;
  hasCorrection: boolean;
  /** Set while the conversation waits for an agent. */
  waitingSince: string | null;
  assignedStaffId: string | null;
  assignedStaffName: string | null;
  rating: number | null;
  closedAt: string | null;
}

/** Messages in one page of a transcript. */
export const TRANSCRIPT_PAGE_SIZE = 200;

/**
 * GET /api/staff/conversations/[id]: the newest page of the transcript (oldest first); with
 * `?before=<olderCursor>`, the page before it. `olderCursor` is null once the first message is in.
 */
export interface ConversationDetail extends ConversationSummary {
  ratingComment: string | null;
  messages: StaffMessage[];
  /** Every private note of the conversation, oldest first (at most MAX_NOTES_PER_CONVERSATION). */
  notes: StaffNote[];
  olderCursor: string | null;
  /** The whole conversation's, not the page's. */
  messageCount: number;
  customerMessageCount: number;
}

/** A page of a keyset-paginated list; `nextCursor` is opaque and null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A customer message waiting for review, most uncertain first. */
export interface ReviewItem {
  message: StaffMessage;
  /** intentProbability - runnerUpProbability: the smaller, the less sure the classifier was. */
  margin: number;
  conversationStatus: ConversationStatus;
  /** The bot or agent message just before it, for context (null at the start). */
  previousText: string | null;
}

/** POST /api/staff/messages/[id]/label and /feedback answer 200 with the updated message
 *  (errors: `{ error: { code, message } }` like every staff API). */
export interface MessageUpdateResponse {
  message: StaffMessage;
}

export const STATUS_LABELS: Record<ConversationStatus, string> = {
  bot: "Bot",
  waiting_for_agent: "Waiting",
  agent: "With agent",
  closed: "Closed",
};

/** Tokens per second of a bot reply's generation, decoding only (after the first token). */
export function tokensPerSecond(m: Pick<StaffMessage, "tokenCount" | "generationMs" | "timeToFirstTokenMs">): number | null {
  if (m.tokenCount == null || m.generationMs == null || m.tokenCount <= 0) return null;
  const decodeMs = m.generationMs - (m.timeToFirstTokenMs ?? 0);
  if (m.tokenCount > 1 && decodeMs > 0) return ((m.tokenCount - 1) * 1000) / decodeMs;
  return m.generationMs > 0 ? (m.tokenCount * 1000) / m.generationMs : null;
}

/** A message with none of the metadata yet (a live event, before the transcript is fetched). */
export function bareStaffMessage(m: Pick<StaffMessage, "id" | "conversationId" | "role" | "text" | "createdAt" | "replyStatus">): StaffMessage {
  return {
    ...m,
    intent: null,
    intentProbability: null,
    runnerUpIntent: null,
    runnerUpProbability: null,
    classifierVersion: null,
    reviewed: false,
    latestLabel: null,
    modelVersion: null,
    timeToFirstTokenMs: null,
    tokenCount: null,
    generationMs: null,
    feedback: null,
    feedbackBy: null,
    grounding: null,
    customerHelpful: null,
    authorName: null,
    lmExample: null,
  };
}

// ---------------------------------------------------------------------------------------------
// List queries: the inbox filters (GET /api/staff/conversations and the inbox page) and paging.

/** The largest page any list endpoint serves. */
export const MAX_PAGE_SIZE = 100;

/** The inbox filters, parsed: what lib/db/inbox turns into SQL. */
export interface InboxFilters {
  status?: ConversationStatus[];
  /** The latest intent of the conversation. */
  intent?: string;
  /** Bounds (inclusive) on the lowest intent probability in the conversation. */
  minConfidence?: number;
  maxConfidence?: number;
  /** Last activity in [from, to). */
  from?: Date;
  to?: Date;
  hasCorrection?: boolean;
  /** Web-search syntax over message text: words (stemmed), "phrases", -exclusions, or. */
  q?: string;
}

const STATUSES = ["bot", "waiting_for_agent", "agent", "closed"] as const;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

const date = z
  .string()
  .max(40)
  .refine((s) => !Number.isNaN(Date.parse(s)), "must be a date (YYYY-MM-DD) or an ISO date-time");
const probability = z.coerce.number().min(0).max(1);

/** Query-string text: no control characters (PostgreSQL refuses NUL in text, and none belong in a search). */
const plainText = z.string().regex(/^[^\u0000-\u001f\u007f]*$/, "must not contain control characters");

export const listQuerySchema = z
  .object({
    status: z
      .string()
      .max(100)
      .transform((s) => [...new Set(s.split(",").map((x) => x.trim()).filter(Boolean))])
      .pipe(z.array(z.enum(STATUSES)).max(STATUSES.length)),
    intent: plainText.max(100),
    minConfidence: probability,
    maxConfidence: probability,
    from: date,
    to: date,
    hasCorrection: z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1"),
    q: plainText.max(200),
    cursor: plainText.max(400),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE),
  })
  .partial()
  .refine((v) => v.minConfidence === undefined || v.maxConfidence === undefined || v.minConfidence <= v.maxConfidence, {
    message: "minConfidence must not exceed maxConfidence",
    path: ["minConfidence"],
  });

export type ListQuery = z.output<typeof listQuerySchema>;

/** A day (YYYY-MM-DD, UTC) as `to` means through the end of that day. */
export function toFilters(q: ListQuery): InboxFilters {
  return {
    status: q.status?.length ? q.status : undefined,
    intent: q.intent?.trim() || undefined,
    minConfidence: q.minConfidence,
    maxConfidence: q.maxConfidence,
    from: q.from ? new Date(DAY.test(q.from) ? `${q.from}T00:00:00Z` : q.from) : undefined,
    to: q.to ? (DAY.test(q.to) ? new Date(Date.parse(`${q.to}T00:00:00Z`) + 86_400_000) : new Date(q.to)) : undefined,
    hasCorrection: q.hasCorrection,
    q: q.q?.trim() || undefined,
  };
}

export const pageQuerySchema = z
  .object({ cursor: z.string().max(400), limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE) })
  .partial();

// ---------------------------------------------------------------------------------------------
// A customer's data on request (GET /api/staff/admin/customer-data?customer=ID, `loopdesk data export`)

/** One message of a customer's conversation, as handed to the customer (staff-only metadata left out). */
export interface CustomerDataMessage {
  id: string;
  role: MessageRole;
  text: string;
  createdAt: string;
  /** The customer's "Did this answer your question?" on a bot reply: 👍 true, 👎 false, null if not given. */
  helpful: boolean | null;
  /** The intent the customer picked when the bot asked "Do you mean …?" about this message, if any. */
  clarifiedIntent: string | null;
}

/**
 * Everything stored about one customer, for an access request: the customer record, every
 * conversation with its messages, rating and comment, the customer's 👍/👎 and clarification picks.
 * Staff-only data (private notes, staff labels, model metadata) is not part of it.
 */
export interface CustomerDataExport {
  format: "loopdesk-customer-data/1";
  exportedAt: string;
  customer: {
    id: string;
    createdAt: string;
    /** The address the customer left for follow-up by email (`chat:email`); null when they left none. */
    email: string | null;
  };
  conversations: {
    id: string;
    status: ConversationStatus;
    createdAt: string;
    lastMessageAt: string;
    closedAt: string | null;
    rating: number | null;
    ratingComment: string | null;
    messages: CustomerDataMessage[];
  }[];
}

export const customerDataQuerySchema = z.object({ customer: id });
