/**
 * What the bot does with a classified customer message. Pure: the thresholds come from config and
 * the streak from the conversation, so every branch is unit-tested.
 */
import type { ReplyDecision } from "../db/replies";

export const OUT_OF_SCOPE = "out_of_scope";
export const TALK_TO_HUMAN = "talk_to_human";

export interface Classification {
  intent: string;
  probability: number;
}

export type Decision =
  /** Answer with the language model, grounded in the intent's knowledge-base article. */
  | { action: "answer"; intent: string; lowConfidenceStreak: 0 }
  /** A short honest reply and an offer of a human; the bot keeps the conversation. */
  | { action: "offer_human"; reason: "out_of_scope" | "low_confidence"; lowConfidenceStreak: number }
  /** Hand the conversation to staff (status waiting_for_agent). */
  | { action: "handoff"; reason: "asked_for_human" | "low_confidence"; lowConfidenceStreak: number };

export interface Thresholds {
  global: number;
  perIntent: Record<string, number>;
}

export function decide(c: Classification, previousStreak: number, thresholds: Thresholds): Decision {
  if (c.intent === TALK_TO_HUMAN && c.probability >= threshold(c.intent, thresholds)) {
    return { action: "handoff", reason: "asked_for_human", lowConfidenceStreak: 0 };
  }
  if (c.probability < threshold(c.intent, thresholds)) {
    const streak = previousStreak + 1;
    return streak >= 2
      ? { action: "handoff", reason: "low_confidence", lowConfidenceStreak: streak }
      : { action: "offer_human", reason: "low_confidence", lowConfidenceStreak: streak };
  }
  if (c.intent === OUT_OF_SCOPE) return { action: "offer_human", reason: "out_of_scope", lowConfidenceStreak: 0 };
  return { action: "answer", intent: c.intent, lowConfidenceStreak: 0 };
}

function threshold(intent: string, t: Thresholds): number {
  return t.perIntent[intent] ?? t.global;
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
} as const;

/** The decision as the reply that carries it out stores it. */
export function replyDecision(d: Decision): ReplyDecision {
  if (d.action === "answer") return "answer";
  return d.action === "offer_human" ? `offer_human_${d.reason}` : `handoff_${d.reason}`;
}

export function templateReply(d: Exclude<Decision, { action: "answer" }>): string {
  if (d.action === "offer_human") return TEMPLATE_REPLIES[d.reason];
  return d.reason === "asked_for_human" ? TEMPLATE_REPLIES.asked_for_human : TEMPLATE_REPLIES.handoff_low_confidence;
}
