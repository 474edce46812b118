/**
 * What the staff console's API returns and its components render: the shapes shared by the inbox,
 * the review queue and the live transcript. Dates are ISO strings (they cross JSON and the
 * server/client component boundary). Types and plain values only, so client components may import this file.
 */
import type { ConversationStatus, MessageRole, ReplyGrounding, ReplyStatus } from "./protocol";

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

export interface ConversationDetail extends ConversationSummary {
  ratingComment: string | null;
  messages: StaffMessage[];
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
  };
}
