import { describe, expect, it } from "vitest";
import { gateVerdict } from "@/lib/training/gate";
import { score } from "@/lib/training/evaluate";

// 20 examples of "a", 20 of "b", 5 of "c": per-intent support decides which regressions count.
const truth = [...Array(20).fill("a"), ...Array(20).fill("b"), ...Array(5).fill("c")];
const withErrors = (errors: Record<string, number>) =>
  truth.map((t, i) => {
    const firstOfLabel = truth.indexOf(t);
    return i - firstOfLabel < (errors[t] ?? 0) ? (t === "a" ? "b" : "a") : t;
  });

describe("score", () => {
  it("computes accuracy, per-intent F1 and the confusion matrix", () => {
    const e = score(["a", "a", "b", "b"], ["a", "b", "b", "b"]);
    expect(e.accuracy).toBe(0.75);
    expect(e.perIntent.a).toMatchObject({ precision: 1, recall: 0.5, support: 2 });
    expect(e.perIntent.b!.f1).toBeCloseTo(0.8);
    expect(e.macroF1).toBeCloseTo((2 / 3 + 0.8) / 2);
    expect(e.confusion).toEqual({ labels: ["a", "b"], matrix: [[1, 1], [0, 2]] });
  });
});

describe("gateVerdict", () => {
  const production = score(truth, withErrors({ a: 1 }));

  it("passes an equal or better candidate", () => {
    expect(gateVerdict(score(truth, truth), production).pass).toBe(true);
    expect(gateVerdict(production, production).pass).toBe(true);
  });

  it("refuses a candidate that loses more than one point of macro-F1", () => {
    const v = gateVerdict(score(truth, withErrors({ a: 1, b: 3 })), production);
    expect(v.pass).toBe(false);
    expect(v.reasons.join()).toMatch(/macro-F1 drops/);
  });

  it("refuses a regression of more than five F1 points on an intent with 10+ examples", () => {
    const v = gateVerdict(score(truth, withErrors({ a: 4 })), production);
    expect(v.pass).toBe(false);
    expect(v.perIntent.find((p) => p.intent === "a")?.regression).toBe(true);
    expect(v.reasons.some((r) => r.startsWith("a:"))).toBe(true);
  });

  it("ignores per-intent regressions on intents with fewer than 10 examples", () => {
    const v = gateVerdict(score(truth, withErrors({ c: 1 })), score(truth, truth));
    expect(v.perIntent.find((p) => p.intent === "c")).toMatchObject({ support: 5, regression: false });
    expect(v.reasons.some((r) => r.startsWith("c:"))).toBe(false);
  });
});
