import { describe, expect, it } from "vitest";
import { decide, replyDecision, templateReply } from "@/lib/chat/decide";

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
    expect(decide({ intent: "complaint", probability: 0.85 }, 0, t)).toMatchObject({ action: "answer" });
  });
  it("an unsure talk_to_human counts as low confidence", () => {
    expect(decide({ intent: "talk_to_human", probability: 0.4 }, 0, t)).toMatchObject({ action: "offer_human", reason: "low_confidence" });
  });
  it("has a template reply for every non-answer decision", () => {
    for (const d of [
      decide({ intent: "out_of_scope", probability: 0.9 }, 0, t),
      decide({ intent: "x", probability: 0.1 }, 0, t),
      decide({ intent: "x", probability: 0.1 }, 1, t),
      decide({ intent: "talk_to_human", probability: 0.9 }, 0, t),
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
    ].map(replyDecision);
    expect(stored).toEqual(["answer", "offer_human_out_of_scope", "offer_human_low_confidence", "handoff_asked_for_human", "handoff_low_confidence"]);
  });
});
