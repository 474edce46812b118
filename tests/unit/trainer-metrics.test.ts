/** The trainer's metrics.json is parsed once, at registration, against one schema. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { trainerMetricsSchema } from "@/lib/protocol/ml";

const seed = JSON.parse(readFileSync("models/classifier/seed/metrics.json", "utf8")) as Record<string, unknown>;

describe("trainerMetricsSchema", () => {
  it("accepts what training/train.py writes, keeping every other key", () => {
    const parsed = trainerMetricsSchema.parse(seed);
    expect(parsed.labels.length).toBeGreaterThan(1);
    expect(parsed).toEqual(seed);
  });

  it.each([
    ["without accuracy", { ...seed, accuracy: undefined }],
    ["with a diverged (null) macro-F1", { ...seed, macro_f1: null }],
    ["without labels", { ...seed, labels: [] }],
  ])("refuses metrics %s", (_, metrics) => {
    expect(() => trainerMetricsSchema.parse(metrics)).toThrow();
  });
});
