import { describe, expect, it } from "vitest";
import { auroc, groupedFold, groupKey, oosOutcome, withoutGroupsOf } from "@/lib/training/oos-eval";

describe("bench:classifier folds", () => {
  it("keys texts without case, punctuation or symbols", () => {
    expect(groupKey("My top-up is still pending")).toBe(groupKey("my top up is still pending?"));
    expect(groupKey("Why do I see an extra €1 charge")).toBe(groupKey("why do i see an extra £1 charge"));
    expect(groupKey("Hi!! 👋")).toBe("hi");
    expect(groupKey("top up")).not.toBe(groupKey("topup"));
  });

  it("never puts two texts with one key on both sides, and holds out about 1/parts of each label", () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({ text: `question ${i % 80}${i % 3 === 0 ? "?" : ""}`, label: `l${i % 4}` }));
    for (let k = 0; k < 5; k++) {
      const { rest, fold } = groupedFold(rows, 5, k);
      expect(rest.length + fold.length).toBe(rows.length);
      const restKeys = new Set(rest.map((r) => groupKey(r.text)));
      expect(fold.filter((r) => restKeys.has(groupKey(r.text)))).toEqual([]);
      expect(fold.length).toBeGreaterThan(20);
      expect(fold.length).toBeLessThan(60);
    }
    // the folds partition the rows
    const all = Array.from({ length: 5 }, (_, k) => groupedFold(rows, 5, k).fold).flat();
    expect(new Set(all).size).toBe(rows.length);
  });

  it("drops rows whose key another set has", () => {
    const { kept, dropped } = withoutGroupsOf([{ text: "Top-up pending" }, { text: "card lost" }], [{ text: "top up pending." }]);
    expect(kept.map((r) => r.text)).toEqual(["card lost"]);
    expect(dropped.map((r) => r.text)).toEqual(["Top-up pending"]);
  });
});

describe("bench:classifier out-of-scope figures", () => {
  it("computes AUROC as the share of (positive, negative) pairs ranked right, ties half", () => {
    expect(auroc([3, 4], [1, 2])).toBe(1);
    expect(auroc([1, 2], [3, 4])).toBe(0);
    expect(auroc([1, 3], [2, 4])).toBe(0.25);
    expect(auroc([2], [2])).toBe(0.5);
    expect(auroc([], [1])).toBeNull();
  });

  it("scores the product's decision: right intent and answered, out of scope not answered", () => {
    const fitted = { global: 0.5, perIntent: {}, oosScore: 10 };
    const o = oosOutcome([
      { label: "order_status", classification: { intent: "order_status", probability: 0.9, oosScore: 3, fitted } }, // right, answered
      { label: "order_status", classification: { intent: "refund_request", probability: 0.9, oosScore: 3, fitted } }, // wrong intent
      { label: "refund_request", classification: { intent: "refund_request", probability: 0.3, oosScore: 3, fitted } }, // unsure: not answered
      { label: "out_of_scope", classification: { intent: "order_status", probability: 0.95, oosScore: 15, fitted } }, // far: recalled
      { label: "out_of_scope", classification: { intent: "out_of_scope", probability: 0.8, oosScore: 4, fitted } }, // oos class: recalled
      { label: "out_of_scope", classification: { intent: "order_status", probability: 0.9, oosScore: 5, fitted } }, // answered: missed
    ]);
    expect(o).toEqual({ inScopeAccuracy: 1 / 3, oosRecall: 2 / 3, oosPrecision: 2 / 3, nInScope: 3, nOos: 3 });
  });
});
