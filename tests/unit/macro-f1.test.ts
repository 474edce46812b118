/** Macro-F1 has one definition: the gate's `score` and the Python trainer agree on a pinned case. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { score } from "@/lib/training/evaluate";

// training/tests/test_contracts.py scores the same case with training/metrics.py.
const CASE = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../training/tests/data/macro_f1_case.json"), "utf8")) as {
  truth: string[];
  predicted: string[];
  macro_f1: number;
};

describe("macro-F1", () => {
  it("averages over the labels present in the truth, as the trainer does", () => {
    expect(score(CASE.truth, CASE.predicted).macroF1).toBeCloseTo(CASE.macro_f1, 12);
  });
});
