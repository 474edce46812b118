/**
 * What the bot does with a classified customer message. Pure: the thresholds come from config and
 * the streak from the conversation, so every branch is unit-tested.
 */
import type { ReplyDecision } from "../db/replies";

export const OUT_OF_SCOPE = "out_of_scope";
export const TALK_TO_HUMAN = "talk_to_human";
/** Intents of small talk: a fixed friendly reply, nothing to ground in the help centre. */
export const SMALL_TALK = ["greeting", "thanks", "goodbye", "complaint"] as const;
export type SmallTalkIntent = (typeof SMALL_TALK)[number];

export interface Classification {
  intent: string;
  probability: number;
  runnerUpIntent?: string;
  runnerUpProbability?: number;
  /** How far the message is from every intent the model knows (Mahalanobis distance); absent when the model has no such score. */
  oosScore?: number;
  /** The thresholds the model version fitted on its validation data; absent for a version without them. */
  fitted?: FittedThresholds;
}

/** The probability below which an intent counts as unsure, unless the model version fitted its own (INTENT_THRESHOLD). */
export const DEFAULT_INTENT_THRESHOLD = 0.45;

/** An unsure top intent and its runner-up are offered as a clarifying question when together this likely. */
export const CLARIFY_MIN_PROBABILITY = 0.4;

/** The help centre's best match for the message: retrieval's top fact, its article's intent and score. */
export interface KnowledgeMatch {
  intent: string | null;
  score: number;
}
/**
 * A help-centre sentence this close to the message answers it even when the classifier is unsure
 * (chosen on bench:replies: above it the best sentence's article was the question's topic or answered it,
 * out-of-scope messages scored under 0.4).
 */
export const KNOWLEDGE_ANSWER_SCORE = 0.55;

export type Decision =
  /** Answer with the language model, grounded in the help centre (the intent's article preferred). */
  | { action: "answer"; intent: string; lowConfidenceStreak: 0 }
  /** A fixed friendly reply to small talk. */
  | { action: "small_talk"; intent: SmallTalkIntent; lowConfidenceStreak: 0 }
  /** Ask "Do you mean …?" with these intents (both help-centre topics) as buttons. */
  | { action: "clarify"; intents: [string, string]; lowConfidenceStreak: number }
  /** A short honest reply and an offer of a human; the bot keeps the conversation. */
  | { action: "offer_human"; reason: "out_of_scope" | "low_confidence"; lowConfidenceStreak: number }
  /** Hand the conversation to staff (status waiting_for_agent). */
  | { action: "handoff"; reason: "asked_for_human" | "low_confidence"; lowConfidenceStreak: number };

export interface Thresholds {
  global: number;
  perIntent: Record<string, number>;
  /** Above this `oosScore` a message is out of scope whatever its intent. */
  oosScore?: number;
}

/** A model version's thresholds (training/calibration.py, in its calibration.json). */
export interface FittedThresholds {
  global: number;
  perIntent: Record<string, number>;
  oosScore: number | null;
}

/**
 * The thresholds a decision uses: the model version's fitted ones where it has them, with the configured
 * per-intent overrides (INTENT_THRESHOLDS, set by an operator on purpose) still winning. A version whose
 * out-of-scope method needs no probability threshold (fitted global 0) keeps the configured one: the
 * unsure path is also what asks a clarifying question and hands over after two unsure turns, which a
 * threshold of 0 would switch off (the seed classifier's method is the oos class alone).
 */
export function effectiveThresholds(configured: Thresholds, fitted: FittedThresholds | undefined): Thresholds {
  if (!fitted) return configured;
  return {
    global: fitted.global > 0 ? fitted.global : configured.global,
    perIntent: { ...fitted.perIntent, ...configured.perIntent },
    ...(fitted.oosScore !== null ? { oosScore: fitted.oosScore } : {}),
  };
}

/**
 * A question about the support team itself ("what are your support hours?", "how long is the wait for an
 * agent?") reads to the classifier as talk_to_human, as a request for a person does. A request asks with
 * can/could/may, says what the customer wants, or is no question at all ("human please"); a question about
 * the team asks what, when, which or how long.
 */
const ASKS_ABOUT_SUPPORT = /^(?:(?:hi|hello|hey)\b[\s,!.]*)?(?:what|what's|whats|when|which|how (?:long|soon|quickly|fast)|are you (?:open|available))\b/i;

/**
 * `topics`: the intents the help centre has an article for, the only ones worth a clarifying question.
 * `match`: the help centre's best sentence for the message, which answers an unsure one if close enough,
 * and a question about the support team (`message`) rather than a handoff.
 * Two unsure turns in a row hand the conversation to staff, whether the first was clarified or not.
 */
export function decide(
  c: Classification,
  previousStreak: number,
  configured: Thresholds,
  topics: ReadonlySet<string> = new Set(),
  match: KnowledgeMatch | null = null,
  message = "",
): Decision {
  const thresholds = effectiveThresholds(configured, c.fitted);
  if (c.intent === TALK_TO_HUMAN && c.probability >= threshold(c.intent, thresholds)) {
    const answerable = match !== null && match.intent === TALK_TO_HUMAN && match.score >= KNOWLEDGE_ANSWER_SCORE;
    if (answerable && ASKS_ABOUT_SUPPORT.test(message.trim())) return { action: "answer", intent: TALK_TO_HUMAN, lowConfidenceStreak: 0 };
    return { action: "handoff", reason: "asked_for_human", lowConfidenceStreak: 0 };
  }
  // Far from every intent the model was trained on: out of scope, however sure the softmax is.
  if (thresholds.oosScore !== undefined && c.oosScore !== undefined && c.oosScore > thresholds.oosScore) {
    return { action: "offer_human", reason: "out_of_scope", lowConfidenceStreak: 0 };
  }
  if (c.probability < threshold(c.intent, thresholds)) {
    if (match && match.score >= KNOWLEDGE_ANSWER_SCORE) return { action: "answer", intent: match.intent ?? c.intent, lowConfidenceStreak: 0 };
    const streak = previousStreak + 1;
    if (streak >= 2) return { action: "handoff", reason: "low_confidence", lowConfidenceStreak: streak };
    const runnerUp = c.runnerUpIntent;
    if (
      runnerUp !== undefined &&
      topics.has(c.intent) &&
      topics.has(runnerUp) &&
      c.probability + (c.runnerUpProbability ?? 0) >= CLARIFY_MIN_PROBABILITY
    ) {
      return { action: "clarify", intents: [c.intent, runnerUp], lowConfidenceStreak: streak };
    }
    return { action: "offer_human", reason: "low_confidence", lowConfidenceStreak: streak };
  }
  if (c.intent === OUT_OF_SCOPE) return { action: "offer_human", reason: "out_of_scope", lowConfidenceStreak: 0 };
  if ((SMALL_TALK as readonly string[]).includes(c.intent)) {
    return { action: "small_talk", intent: c.intent as SmallTalkIntent, lowConfidenceStreak: 0 };
  }
  return { action: "answer", intent: c.intent, lowConfidenceStreak: 0 };
}

function threshold(intent: string, t: Thresholds): number {
  return t.perIntent[intent] ?? t.global;
}

/** The intent a decision answers the message as (the talk_to_human intent is answered by the handoff); null when it does not. */
export function answeredIntent(d: Decision): string | null {
  if (d.action === "answer" || d.action === "small_talk") return d.intent;
  if (d.action === "handoff" && d.reason === "asked_for_human") return TALK_TO_HUMAN;
  return null;
}

/** Fixed replies for the turns the language model does not write: honest and short. */
export const TEMPLATE_REPLIES = {
  out_of_scope:
    "Sorry, I can only help with Northwind Goods orders, products, shipping, returns, payments and accounts. " +
    "If you'd like, I can connect you with a member of our team: just say \"talk to a human\".",
  low_confidence:
    "Sorry, I'm not sure I understood. Could you rephrase that? If you prefer, I can connect you with a member of our team: " +
    "just say \"talk to a human\".",
  asked_for_human:
    "Of course. I'm connecting you with a member of our support team now; they will join this chat shortly " +
    "(Mon-Fri 8:00-20:00 CET). Please stay on this page.",
  handoff_low_confidence:
    "I'm sorry I couldn't help with that. I'm passing this chat to a member of our support team, who will join shortly.",
  /** The help centre has nothing relevant to an in-scope question. */
  no_facts:
    "Sorry, I couldn't find that in our help centre. If you'd like, I can connect you with a member of our team: " +
    "just say \"talk to a human\".",
  clarify: "Sorry, I'm not sure I understood. Do you mean one of these?",
  greeting: "Hello! I'm Loopdesk, the Northwind Goods assistant. How can I help you today with an order, a product, shipping or returns?",
  thanks: "You're welcome, happy to help! Is there anything else I can do for you today?",
  goodbye: "Thank you for contacting Northwind Goods, and have a nice day! You can come back to this chat any time.",
  complaint:
    "I'm sorry about your experience, and thank you for telling us. All feedback is passed on to our customer experience team. " +
    "If you'd like to make a formal complaint, I can connect you with a member of our team: just say \"talk to a human\".",
} as const;

/** The decision as the reply that carries it out stores it. */
export function replyDecision(d: Decision): ReplyDecision {
  switch (d.action) {
    case "answer":
    case "small_talk":
    case "clarify":
      return d.action;
    case "offer_human":
      return `offer_human_${d.reason}`;
    case "handoff":
      return `handoff_${d.reason}`;
  }
}

/**
 * A handoff no agent can take now (outside office hours, or nobody online): said honestly, with the
 * hours, and the customer is asked for an email address.
 */
export function offlineHandoffReply(reason: "asked_for_human" | "low_confidence", why: "closed" | "nobody_online", hours: string): string {
  const opening = reason === "low_confidence" ? "I'm sorry I couldn't help with that. " : "";
  const situation =
    why === "closed"
      ? `Our support team is not available right now: our hours are ${hours}.`
      : `No one from our support team is online right now (our hours are ${hours}).`;
  return `${opening}${situation} Leave your email address below and an agent will reply by email; your chat stays in the queue for them.`;
}

export function templateReply(d: Exclude<Decision, { action: "answer" }>): string {
  switch (d.action) {
    case "offer_human":
      return TEMPLATE_REPLIES[d.reason];
    case "small_talk":
      return TEMPLATE_REPLIES[d.intent];
    case "clarify":
      return TEMPLATE_REPLIES.clarify;
    case "handoff":
      return d.reason === "asked_for_human" ? TEMPLATE_REPLIES.asked_for_human : TEMPLATE_REPLIES.handoff_low_confidence;
  }
}
