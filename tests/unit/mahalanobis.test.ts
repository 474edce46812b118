import { describe, expect, it } from "vitest";
import { mahalanobisScorer } from "@/lib/models/classifier";

describe("the classifier's Mahalanobis score (mahalanobis.json, as training/calibration.py writes it)", () => {
  it("is the distance to the nearest mapped mean after the transform", () => {
    // W = diag(2, 1): distances stretch along the first axis; means are stored already mapped by W.
    const score = mahalanobisScorer({ labels: ["a", "b"], dim: 2, transform: [2, 0, 0, 1], means: [0, 0, 20, 0] });
    expect(score(Float32Array.from([1, 0]))).toBeCloseTo(2); // W x = (2, 0): 2 from a's (0, 0)
    expect(score(Float32Array.from([9, 1]))).toBeCloseTo(Math.sqrt(5)); // W x = (18, 1): √5 from b's (20, 0)
    expect(score(Float32Array.from([0, 30]))).toBeCloseTo(30);
  });
  it("refuses a fit of the wrong shape or an embedding of the wrong size", () => {
    expect(() => mahalanobisScorer({ labels: ["a"], dim: 2, transform: [1, 0, 0], means: [0, 0] })).toThrow(/wrong shape/);
    const score = mahalanobisScorer({ labels: ["a"], dim: 2, transform: [1, 0, 0, 1], means: [0, 0] });
    expect(() => score(Float32Array.from([1, 2, 3]))).toThrow(/expects 2/);
  });
});
