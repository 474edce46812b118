/**
 * Batched decoding (lib/models/decoder.ts) with the real stock model: replies decoded together, joining
 * and leaving the batch at different steps, are the replies each gets alone, token for token; a reply
 * stopped in a running batch leaves it without changing the others; a prompt onnxruntime cannot run
 * fails its own reply only, also when it arrived with others.
 *
 * Checked on the graph the server decodes with: its 8-bit block MatMuls quantize each row's activations
 * on their own, so a row's arithmetic does not depend on the others in the batch. (The int8 graph before
 * it quantized them per tensor, over the whole batch, and batched replies drifted from the same replies
 * alone: README, "Language model speed".)
 */
import path from "node:path";
import { AutoTokenizer, type PreTrainedTokenizer } from "@huggingface/transformers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { promptIds } from "../../bench/lm/bare";
import { BatchedDecoder } from "@/lib/models/decoder";
import { LM_MODEL_FILE, STOCK_LM_DIR, type ChatTurn } from "@/lib/models/lm";
import { loadFromDir } from "@/lib/models/local-files";

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

let decoder: BatchedDecoder;
let prompts: number[][];
const alone: number[][] = [];

beforeAll(async () => {
  const tokenizer = await loadFromDir(MODEL_DIR, (id) => AutoTokenizer.from_pretrained(id) as Promise<PreTrainedTokenizer>);
  prompts = PROMPTS.map((turns) => promptIds(tokenizer, turns));
  decoder = await BatchedDecoder.open(MODEL_DIR, LM_MODEL_FILE);
  for (const ids of prompts) alone.push(await decode(ids));
});
afterAll(() => decoder?.dispose());

function decode(ids: number[], { onToken = (_: number) => {}, shouldStop = (): boolean => false } = {}) {
  return decoder.decode({ promptIds: ids, maxNewTokens: MAX_NEW_TOKENS, onToken, shouldStop });
}

/** An onToken that resolves `reached` once `count` tokens have come. */
function afterTokens(count: number) {
  let seen = 0;
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  return { reached, onToken: () => ++seen === count && reach() };
}

describe("batched decoding", () => {
  it("gives every reply the tokens it gets alone, whenever it joins the batch", async () => {
    expect(alone[3]!.length).toBeLessThan(alone[2]!.length);
    // Two start together; the other two join once the first has 5 tokens.
    const first = afterTokens(5);
    const early = [decode(prompts[0]!, { onToken: first.onToken }), decode(prompts[1]!)];
    await first.reached;
    const late = [decode(prompts[2]!), decode(prompts[3]!)];
    expect(await Promise.all([...early, ...late])).toEqual(alone);
  });

  it("takes a stopped reply out of the batch; the others finish as they would alone", async () => {
    // Stopped at its third token (as a Stop arriving then), while the other two keep decoding.
    let tokens = 0;
    const [before, stopped, after] = await Promise.all([
      decode(prompts[0]!),
      decode(prompts[1]!, { onToken: () => tokens++, shouldStop: () => tokens >= 3 }),
      decode(prompts[2]!),
    ]);
    expect(stopped).toEqual(alone[1]!.slice(0, 3));
    expect([before, after]).toEqual([alone[0], alone[2]]);
  });

  it("starts nothing for a reply stopped before it joins", async () => {
    expect(await decode(prompts[0]!, { shouldStop: () => true })).toEqual([]);
  });
});

describe("a prompt that fails", () => {
  it("fails its own reply only; the batch goes on, and the decoder serves the next reply", async () => {
    // A token id far outside the vocabulary makes onnxruntime's embedding lookup fail; it joins mid-reply.
    let join!: (joined: { bad: Promise<number[]> }) => void;
    const joined = new Promise<{ bad: Promise<number[]> }>((resolve) => (join = resolve));
    let tokens = 0;
    const running = decode(prompts[0]!, { onToken: () => ++tokens === 2 && join({ bad: decode([1, 10_000_000]) }) });
    await expect((await joined).bad).rejects.toThrow(/out of data bounds|indices/);
    expect(await running).toEqual(alone[0]);
    // Prompts that arrive during a step run together; when that run fails, each runs alone.
    let arrive!: (arrived: { bad: Promise<number[]>; good: Promise<number[]> }) => void;
    const arrived = new Promise<{ bad: Promise<number[]>; good: Promise<number[]> }>((resolve) => (arrive = resolve));
    tokens = 0;
    const another = decode(prompts[0]!, { onToken: () => ++tokens === 2 && arrive({ bad: decode([1, 10_000_000]), good: decode(prompts[3]!) }) });
    const { bad, good } = await arrived;
    await expect(bad).rejects.toThrow(/out of data bounds|indices/);
    expect([await good, await another]).toEqual([alone[3], alone[0]]);
  });
});
