/** The language-model gate's rules and the per-kind shapes of runs: pure, no model. */
import { describe, expect, it } from "vitest";
import { lmGateVerdict, type LmSide } from "@/lib/training/lm-gate";
import { benchFigures, type Verdict } from "@/lib/reply-bench/judge";
import { evalLineSchemas, isLmEval, lmTrainerMetricsSchema, promoteSchema, rollbackSchema, startRunSchema, type ReplyBenchFigures } from "@/lib/protocol/ml";

const figures = (over: Partial<ReplyBenchFigures> = {}): ReplyBenchFigures => ({
  replies: 100,
  pass: 0.9,
  facts: 0.9,
  contradictions: 1,
  invented: 2,
  repetitive: 1,
  cutOff: 0,
  abstained: 10,
  ...over,
});
const side = (version: string, bench: ReplyBenchFigures, holdoutPerplexity: number | null = 3): LmSide => ({ version, bench, holdoutPerplexity });
const about = { questions: 100, questionsSha256: "a".repeat(64), holdoutExamples: 40 };
const verdict = (candidate: Partial<ReplyBenchFigures>, production: Partial<ReplyBenchFigures> = {}, ppl: [number | null, number | null] = [3, 3]) =>
  lmGateVerdict(side("lm-candidate", figures(candidate), ppl[0]), side("stock", figures(production), ppl[1]), about);

describe("lmGateVerdict", () => {
  it("passes a candidate that is as good as production on every count", () => {
    const v = verdict({});
    expect(v).toMatchObject({ pass: true, reasons: [], questions: 100, holdoutExamples: 40 });
    expect(v.candidate.version).toBe("lm-candidate");
    expect(v.production.version).toBe("stock");
  });

  it("passes a better candidate", () => {
    expect(verdict({ pass: 0.95, contradictions: 0, invented: 0, repetitive: 0 }).pass).toBe(true);
  });

  it("refuses a candidate that passes fewer questions, by the smallest step", () => {
    const v = verdict({ pass: 0.89 });
    expect(v.pass).toBe(false);
    expect(v.reasons).toEqual(["passes fewer questions: 90.0% → 89.0%"]);
  });

  it.each([
    ["contradictions", /more contradictions: 1 → 2/],
    ["invented", /more replies with invented terms: 2 → 3/],
    ["repetitive", /more repetitive replies: 1 → 2/],
  ] as const)("refuses a candidate with one more %s reply", (key, reason) => {
    const v = verdict({ [key]: figures()[key] + 1 });
    expect(v.pass).toBe(false);
    expect(v.reasons).toHaveLength(1);
    expect(v.reasons[0]).toMatch(reason);
  });

  it("names every reason when several rules fail", () => {
    const v = verdict({ pass: 0.5, contradictions: 5, invented: 9, repetitive: 4 });
    expect(v.reasons).toHaveLength(4);
  });

  it("does not gate on perplexity, cut-off or abstained counts: they are reported", () => {
    const v = verdict({ cutOff: 10, abstained: 50 }, {}, [9, 3]);
    expect(v.pass).toBe(true);
    expect(v.candidate.holdoutPerplexity).toBe(9);
  });
});

describe("benchFigures", () => {
  const judged = (over: Partial<Verdict>): Verdict => ({
    pass: true,
    facts: true,
    missingFacts: [],
    contradictions: [],
    invented: [],
    repetitive: null,
    cutOff: false,
    abstained: false,
    handedOff: false,
    groundedIn: [],
    reasons: [],
    ...over,
  });

  it("counts replies, not terms, and gives pass and facts as fractions", () => {
    const f = benchFigures([
      judged({}),
      judged({ pass: false, facts: false, invented: ["number:7", "day:sunday"], contradictions: ["free"] }),
      judged({ pass: false, repetitive: "you can you can", cutOff: true }),
      judged({ abstained: true }),
    ]);
    expect(f).toEqual({ replies: 4, pass: 0.5, facts: 0.75, contradictions: 1, invented: 1, repetitive: 1, cutOff: 1, abstained: 1 });
  });

  it("is all zeros for no replies", () => {
    expect(benchFigures([])).toMatchObject({ replies: 0, pass: 0, facts: 0 });
  });
});

describe("per-kind run shapes", () => {
  it("parses each trainer's EVAL line with its own schema", () => {
    const lm = evalLineSchemas.lm.parse({ epoch: 0, holdout_loss: 1.2, holdout_perplexity: 3.3 });
    expect(isLmEval(lm)).toBe(true);
    const clf = evalLineSchemas.classifier.parse({ epoch: 1, holdout_accuracy: 0.9, holdout_macro_f1: 0.88, holdout_loss: 0.3 });
    expect(isLmEval(clf)).toBe(false);
    // A language model has no accuracy; a classifier's line without accuracy is malformed.
    expect(evalLineSchemas.classifier.safeParse({ epoch: 1, holdout_loss: 1.2, holdout_perplexity: 3.3 }).success).toBe(false);
    expect(evalLineSchemas.lm.safeParse({ epoch: 1, holdout_accuracy: 0.9, holdout_macro_f1: 0.88 }).success).toBe(false);
  });

  it("reads the LM trainer's metrics.json, and refuses a classifier's", () => {
    const metrics = {
      kind: "lm",
      dataset_sha256: "b".repeat(64),
      base_version: "smollm2-135m-instruct@b1f2f41efd5a",
      examples: { train: 560, holdout: 64 },
      epochs: 1,
      steps: 2,
      seconds: 80.5,
      device: "cpu",
      method: "full",
      train_loss: 1.9,
      holdout_loss: 1.2,
      holdout_perplexity: 3.3,
      base_holdout_loss: 1.5,
      base_holdout_perplexity: 4.5,
      history: [],
    };
    expect(lmTrainerMetricsSchema.parse(metrics)).toMatchObject({ holdout_perplexity: 3.3, base_version: metrics.base_version });
    expect(lmTrainerMetricsSchema.safeParse({ accuracy: 0.9, macro_f1: 0.9, labels: ["a"], device: "cpu" }).success).toBe(false);
  });

  it("starts a classifier run by default and takes LM-only parameters for LM runs only", () => {
    expect(startRunSchema.parse({})).toMatchObject({ kind: "classifier", device: "auto", params: {} });
    expect(startRunSchema.parse({ kind: "lm", params: { maxSteps: 2 } })).toMatchObject({ kind: "lm", params: { maxSteps: 2 } });
    const refused = startRunSchema.safeParse({ params: { maxSteps: 2 } });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.path).toEqual(["params", "maxSteps"]);
    expect(startRunSchema.safeParse({ kind: "gpt" }).success).toBe(false);
  });

  it("promotes and rolls back the classifier unless told the kind", () => {
    expect(promoteSchema.parse({})).toMatchObject({ kind: "classifier", force: false });
    expect(rollbackSchema.parse({ kind: "lm" })).toEqual({ kind: "lm" });
    expect(promoteSchema.safeParse({ kind: "lm", force: true }).success).toBe(false); // forcing needs a reason
  });
});
