/** Degrade, don't queue: the decision whether a reply waits for the model or quotes its facts now. */
import { describe, expect, it } from "vitest";
import { degradeDecision } from "@/lib/chat/generation-queue";

const load = (ahead: number, recentGenerationMs: number | null = 2000, concurrency = 2) => ({ ahead, concurrency, recentGenerationMs });

describe("degradeDecision", () => {
  it("expects no wait while a slot is free", () => {
    expect(degradeDecision(load(0), 1)).toEqual({ degrade: false, expectedWaitMs: 0 });
    expect(degradeDecision(load(1), 1)).toEqual({ degrade: false, expectedWaitMs: 0 });
  });

  it("expects the generations beyond the free slots, each for the recent mean, shared by the slots", () => {
    // Both slots busy: one of them frees in about half a generation's time.
    expect(degradeDecision(load(2), 2000).expectedWaitMs).toBe(1000);
    expect(degradeDecision(load(5), 2000).expectedWaitMs).toBe(4000);
    expect(degradeDecision(load(5, 2000, 1), 2000).expectedWaitMs).toBe(10_000);
    expect(degradeDecision(load(3, 1000, 4), 2000).expectedWaitMs).toBe(0);
  });

  it("degrades only past the bound", () => {
    expect(degradeDecision(load(4), 3000)).toEqual({ degrade: false, expectedWaitMs: 3000 });
    expect(degradeDecision(load(5), 3000)).toEqual({ degrade: true, expectedWaitMs: 4000 });
  });

  it("never degrades with the bound 0, however long the queue", () => {
    expect(degradeDecision(load(200), 0)).toEqual({ degrade: false, expectedWaitMs: 199_000 });
  });

  it("never degrades before a generation has finished: nothing to estimate from", () => {
    expect(degradeDecision(load(50, null), 1)).toEqual({ degrade: false, expectedWaitMs: 0 });
  });
});
