/**
 * Batched decoding (lib/models/decoder.ts) with the real stock model: replies decoded together, joining
 * and leaving the batch at different steps, are the replies each gets alone, token for token; Stop
 * and the caller's own stopper take one reply out of a running batch without changing the others; a
 * prompt onnxruntime cannot run fails its own reply only.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchedDecoder } from "@/lib/models/decoder";
import { GenerationStopper, loadLanguageModelInProcess, STOCK_LM_DIR, type ChatTurn, type GenerationResult, type LanguageModel } from "@/lib/models/lm";

const MODEL_DIR = path.resolve("models", STOCK_LM_DIR);
const FACTS = "Facts:\n- Standard shipping takes 3-5 business days.\n- Express shipping takes 1-2 business days and costs 9.99 EUR.\n- Returns are free within 30 days.";
const SYSTEM = `You are a helpful customer support assistant. Answer from the facts only.\n${FACTS}`;
// Different prompt lengths, and one reply ("Hi") that ends long before the others.
const PROMPTS: ChatTurn[][] = [
  [{ role: "system", content: SYSTEM }, { role: "user", content: "How long does shipping take?" }],
  [{ role: "system", content: SYSTEM }, { role: "user", content: "How much does express shipping cost, and can I return a kettle?" }],
  [{ role: "user", content: "Write a short poem about a kettle." }],
  [{ role: "user", content: "Hi" }],
];
const MAX_NEW_TOKENS = 40;

let lm: LanguageModel;
const alone: GenerationResult[] = [];

beforeAll(async () => {
  lm = await loadLanguageModelInProcess(MODEL_DIR);
  for (const turns of PROMPTS) alone.push(await generate(turns));
});
afterAll(() => lm?.dispose());

function generate(turns: ChatTurn[], opts: { stopper?: GenerationStopper; enough?: GenerationStopper; onText?: (piece: string) => void } = {}) {
  return lm.generate(turns, { maxNewTokens: MAX_NEW_TOKENS, stopper: new GenerationStopper(), onText: () => {}, ...opts });
}

/** Resolves when `count` pieces of text have streamed through the returned onText. */
function afterPieces(count: number) {
  let seen = 0;
  let reached!: () => void;
  const promise = new Promise<void>((resolve) => (reached = resolve));
  return { promise, onText: () => ++seen === count && reached() };
}

const essentials = (r: GenerationResult) => ({ text: r.text, tokenCount: r.tokenCount, stopped: r.stopped });

describe("batched decoding", () => {
  it("gives every reply the tokens it gets alone, whenever it joins the batch", async () => {
    expect(alone[3]!.tokenCount).toBeLessThan(alone[2]!.tokenCount);
    // Two start together; the other two join once the first has streamed a few pieces.
    const first = afterPieces(3);
    const early = [generate(PROMPTS[0]!, { onText: first.onText }), generate(PROMPTS[1]!)];
    await first.promise;
    const late = [generate(PROMPTS[2]!), generate(PROMPTS[3]!)];
    const together = await Promise.all([...early, ...late]);
    expect(together.map(essentials)).toEqual(alone.map(essentials));
  });

  it("takes a stopped reply out of the batch; the others finish as they would alone", async () => {
    for (const which of ["stopper", "enough"] as const) {
      const stoppers = { stopper: new GenerationStopper(), enough: new GenerationStopper() };
      let pieces = 0;
      const [before, stoppedResult, after] = await Promise.all([
        generate(PROMPTS[0]!),
        // Stopped after its second piece of text, while the other two keep decoding.
        generate(PROMPTS[1]!, { ...stoppers, onText: () => ++pieces === 2 && stoppers[which].interrupt() }),
        generate(PROMPTS[2]!),
      ]);
      expect(stoppedResult.stopped).toBe(which === "stopper");
      expect(stoppedResult.tokenCount).toBeLessThan(alone[1]!.tokenCount);
      expect(alone[1]!.text.startsWith(stoppedResult.text)).toBe(true);
      expect([before, after].map(essentials)).toEqual([alone[0]!, alone[2]!].map(essentials));
    }
  });
});

describe("a prompt that fails", () => {
  it("fails its own reply only; the batch goes on, and the decoder serves the next reply", async () => {
    const decoder = await BatchedDecoder.open(MODEL_DIR, "onnx/model_quantized.onnx");
    try {
      const request = (promptIds: number[], onToken = () => {}) => decoder.decode({ promptIds, maxNewTokens: 16, shouldStop: () => false, onToken });
      const prompt = [1, 9690, 198, 22503, 2, 198, 1, 520, 9531, 198];
      const reference = await request(prompt);
      // A token id far outside the vocabulary makes onnxruntime's embedding lookup fail; it joins mid-reply.
      let join!: (joined: { bad: Promise<number[]> }) => void;
      const joined = new Promise<{ bad: Promise<number[]> }>((resolve) => (join = resolve));
      let tokens = 0;
      const running = request(prompt, () => ++tokens === 2 && join({ bad: request([1, 10_000_000]) }));
      await expect((await joined).bad).rejects.toThrow();
      expect(await running).toEqual(reference);
      expect(await request(prompt)).toEqual(reference);
    } finally {
      await decoder.dispose();
    }
  });
});
