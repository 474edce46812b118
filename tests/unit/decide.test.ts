import { describe, expect, it } from "vitest";
import { answeredIntent, decide, effectiveThresholds, KNOWLEDGE_ANSWER_SCORE, replyDecision, templateReply, type FittedThresholds } from "@/lib/chat/decide";

const t = { global: 0.5, perIntent: { complaint: 0.8 } };

describe("decide", () => {
  it("answers a confident in-scope intent and resets the streak", () => {
    expect(decide({ intent: "order_status", probability: 0.9 }, 1, t)).toEqual({ action: "answer", intent: "order_status", lowConfidenceStreak: 0 });
  });
  it("hands over when the customer asks for a human", () => {
    expect(decide({ intent: "talk_to_human", probability: 0.7 }, 0, t)).toMatchObject({ action: "handoff", reason: "asked_for_human" });
  });
  it("offers a human for out-of-scope messages without handing over", () => {
    expect(decide({ intent: "out_of_scope", probability: 0.95 }, 0, t)).toMatchObject({ action: "offer_human", reason: "out_of_scope", lowConfidenceStreak: 0 });
  });
  it("offers a human on the first unsure message and hands over on the second in a row", () => {
    const first = decide({ intent: "shipping_info", probability: 0.3 }, 0, t);
    expect(first).toMatchObject({ action: "offer_human", reason: "low_confidence", lowConfidenceStreak: 1 });
    expect(decide({ intent: "order_status", probability: 0.2 }, first.lowConfidenceStreak, t)).toMatchObject({
      action: "handoff",
      reason: "low_confidence",
      lowConfidenceStreak: 2,
    });
  });
  it("uses a per-intent threshold over the global one", () => {
    expect(decide({ intent: "complaint", probability: 0.7 }, 0, t)).toMatchObject({ action: "offer_human", reason: "low_confidence" });
    expect(decide({ intent: "order_status", probability: 0.85 }, 0, { ...t, perIntent: { order_status: 0.8 } })).toMatchObject({ action: "answer" });
  });
  it("answers a question about the support team from its article, and hands over a request for a person", () => {
    const human = { intent: "talk_to_human", probability: 0.9 };
    const supportArticle = { intent: "talk_to_human", score: KNOWLEDGE_ANSWER_SCORE };
    for (const question of ["what are your support hours?", "Hi, when can I reach an agent?", "how long is the wait for an agent"]) {
      expect(decide(human, 0, t, new Set(), supportArticle, question)).toEqual({ action: "answer", intent: "talk_to_human", lowConfidenceStreak: 0 });
    }
    for (const request of ["human please", "can I speak to a real person?", "I want to talk to someone about my order"]) {
      expect(decide(human, 0, t, new Set(), supportArticle, request)).toMatchObject({ action: "handoff", reason: "asked_for_human" });
    }
    // Nothing in the help centre answers it (a phone number): a person can.
    expect(decide(human, 0, t, new Set(), { ...supportArticle, score: KNOWLEDGE_ANSWER_SCORE - 0.01 }, "what is your phone number")).toMatchObject({
      action: "handoff",
    });
  });
  it("an unsure talk_to_human counts as low confidence", () => {
    expect(decide({ intent: "talk_to_human", probability: 0.4 }, 0, t)).toMatchObject({ action: "offer_human", reason: "low_confidence" });
  });
  it("asks which of two help-centre topics is meant when the top two are close, and hands over if still unsure", () => {
    const topics = new Set(["payment_problem", "change_order", "order_status"]);
    const unsure = { intent: "payment_problem", probability: 0.4, runnerUpIntent: "change_order", runnerUpProbability: 0.35 };
    const first = decide(unsure, 0, t, topics);
    expect(first).toEqual({ action: "clarify", intents: ["payment_problem", "change_order"], lowConfidenceStreak: 1 });
    expect(decide(unsure, first.lowConfidenceStreak, t, topics)).toMatchObject({ action: "handoff", reason: "low_confidence" });
  });
  it("does not clarify between non-topics or unlikely pairs", () => {
    const topics = new Set(["payment_problem", "change_order"]);
    expect(decide({ intent: "payment_problem", probability: 0.4, runnerUpIntent: "greeting", runnerUpProbability: 0.3 }, 0, t, topics)).toMatchObject({
      action: "offer_human",
    });
    expect(decide({ intent: "payment_problem", probability: 0.2, runnerUpIntent: "change_order", runnerUpProbability: 0.15 }, 0, t, topics)).toMatchObject({
      action: "offer_human",
    });
  });
  it("answers an unsure message when the help centre has a close match for it, as the match's topic", () => {
    const unsure = { intent: "greeting", probability: 0.3 };
    expect(decide(unsure, 1, t, new Set(), { intent: "payment_problem", score: KNOWLEDGE_ANSWER_SCORE })).toEqual({
      action: "answer",
      intent: "payment_problem",
      lowConfidenceStreak: 0,
    });
    expect(decide(unsure, 0, t, new Set(), { intent: "payment_problem", score: KNOWLEDGE_ANSWER_SCORE - 0.01 })).toMatchObject({ action: "offer_human" });
    // A confident out-of-scope message stays declined whatever it resembles.
    expect(decide({ intent: "out_of_scope", probability: 0.9 }, 0, t, new Set(), { intent: "payment_problem", score: 0.9 })).toMatchObject({
      action: "offer_human",
      reason: "out_of_scope",
    });
  });
  it("answers small talk with a fixed reply, not the language model", () => {
    expect(decide({ intent: "thanks", probability: 0.9 }, 1, t)).toEqual({ action: "small_talk", intent: "thanks", lowConfidenceStreak: 0 });
  });
  it("has a template reply for every non-answer decision", () => {
    for (const d of [
      decide({ intent: "out_of_scope", probability: 0.9 }, 0, t),
      decide({ intent: "x", probability: 0.1 }, 0, t),
      decide({ intent: "x", probability: 0.1 }, 1, t),
      decide({ intent: "talk_to_human", probability: 0.9 }, 0, t),
      decide({ intent: "greeting", probability: 0.9 }, 0, t),
      decide({ intent: "a", probability: 0.3, runnerUpIntent: "b", runnerUpProbability: 0.3 }, 0, t, new Set(["a", "b"])),
    ]) {
      if (d.action !== "answer") expect(templateReply(d).length).toBeGreaterThan(20);
    }
  });
  it("names each decision as the reply stores it", () => {
    const stored = [
      decide({ intent: "order_status", probability: 0.9 }, 0, t),
      decide({ intent: "out_of_scope", probability: 0.9 }, 0, t),
      decide({ intent: "x", probability: 0.1 }, 0, t),
      decide({ intent: "talk_to_human", probability: 0.9 }, 0, t),
      decide({ intent: "x", probability: 0.1 }, 1, t),
      decide({ intent: "thanks", probability: 0.9 }, 0, t),
      decide({ intent: "a", probability: 0.3, runnerUpIntent: "b", runnerUpProbability: 0.3 }, 0, t, new Set(["a", "b"])),
    ].map(replyDecision);
    expect(stored).toEqual([
      "answer",
      "offer_human_out_of_scope",
      "offer_human_low_confidence",
      "handoff_asked_for_human",
      "handoff_low_confidence",
      "small_talk",
      "clarify",
    ]);
  });
});

describe("decide with a model version's fitted thresholds and out-of-scope score", () => {
  const fitted: FittedThresholds = { global: 0.3, perIntent: { refund_request: 0.6 }, oosScore: 12 };

  it("treats a message far from every intent as out of scope, however sure its intent", () => {
    expect(decide({ intent: "order_status", probability: 0.99, oosScore: 12.5, fitted }, 1, t)).toEqual({
      action: "offer_human",
      reason: "out_of_scope",
      lowConfidenceStreak: 0,
    });
    expect(decide({ intent: "order_status", probability: 0.99, oosScore: 11.9, fitted }, 1, t)).toMatchObject({ action: "answer", intent: "order_status" });
    // at the threshold is still in scope
    expect(decide({ intent: "order_status", probability: 0.99, oosScore: 12, fitted }, 0, t)).toMatchObject({ action: "answer" });
  });
  it("still hands over to a human who asks for one, even from far away", () => {
    expect(decide({ intent: "talk_to_human", probability: 0.9, oosScore: 40, fitted }, 0, t)).toMatchObject({ action: "handoff", reason: "asked_for_human" });
  });
  it("ignores the score when the version fitted no distance threshold, and a version without fitted thresholds behaves as configured", () => {
    expect(decide({ intent: "order_status", probability: 0.9, oosScore: 99, fitted: { ...fitted, oosScore: null } }, 0, t)).toMatchObject({ action: "answer" });
    expect(decide({ intent: "order_status", probability: 0.9, oosScore: 99 }, 0, t)).toMatchObject({ action: "answer" });
    expect(decide({ intent: "order_status", probability: 0.45 }, 0, t)).toMatchObject({ action: "offer_human", reason: "low_confidence" });
  });
  it("uses the version's global and per-intent thresholds instead of the configured global one", () => {
    // 0.45 is unsure under the configured 0.5 but sure under the fitted 0.3
    expect(decide({ intent: "order_status", probability: 0.45, fitted }, 0, t)).toMatchObject({ action: "answer" });
    expect(decide({ intent: "order_status", probability: 0.25, fitted }, 0, t)).toMatchObject({ action: "offer_human", reason: "low_confidence" });
    expect(decide({ intent: "refund_request", probability: 0.55, fitted }, 0, t)).toMatchObject({ action: "offer_human", reason: "low_confidence" });
    expect(decide({ intent: "refund_request", probability: 0.65, fitted }, 0, t)).toMatchObject({ action: "answer", intent: "refund_request" });
  });
  it("lets an operator's per-intent override (INTENT_THRESHOLDS) win over the fitted one", () => {
    expect(effectiveThresholds(t, fitted)).toEqual({ global: 0.3, perIntent: { refund_request: 0.6, complaint: 0.8 }, oosScore: 12 });
    expect(effectiveThresholds({ global: 0.5, perIntent: { refund_request: 0.9 } }, fitted).perIntent.refund_request).toBe(0.9);
    expect(effectiveThresholds(t, undefined)).toBe(t);
    // A method without a probability threshold keeps the configured one, so unsure messages still clarify.
    expect(effectiveThresholds(t, { global: 0, perIntent: {}, oosScore: null }).global).toBe(0.5);
  });
  it("names the intent a decision answers a message as, and none for the rest", () => {
    expect(answeredIntent(decide({ intent: "order_status", probability: 0.9 }, 0, t))).toBe("order_status");
    expect(answeredIntent(decide({ intent: "greeting", probability: 0.9 }, 0, t))).toBe("greeting");
    expect(answeredIntent(decide({ intent: "talk_to_human", probability: 0.9 }, 0, t))).toBe("talk_to_human");
    expect(answeredIntent(decide({ intent: "out_of_scope", probability: 0.9 }, 0, t))).toBeNull();
    expect(answeredIntent(decide({ intent: "order_status", probability: 0.2 }, 0, t))).toBeNull();
    expect(answeredIntent(decide({ intent: "order_status", probability: 0.2 }, 1, t))).toBeNull();
  });
});
