/** The n-gram blocker the language model decodes with: no repeats within the reply, quoting the prompt allowed. */
import { Tensor } from "@huggingface/transformers";
import { describe, expect, it } from "vitest";
import { NoRepeatedReplyNGrams } from "@/lib/models/lm";

/** The logits after the processor, for a batch of one over a vocabulary of 10 tokens. */
function banned(ids: number[], promptLength: number, n = 3): number[] {
  const logits = new Tensor("float32", new Float32Array(10).fill(1), [1, 10]);
  new NoRepeatedReplyNGrams(promptLength, n)._call([ids.map(BigInt)], logits);
  return [...(logits.data as Float32Array)].flatMap((v, token) => (v === -Infinity ? [token] : []));
}

describe("NoRepeatedReplyNGrams", () => {
  it("bans the token that would repeat an n-gram of the reply", () => {
    // Reply 1 2 3 1 2: a 3 next would repeat "1 2 3".
    expect(banned([9, 9, 1, 2, 3, 1, 2], 2)).toEqual([3]);
  });
  it("bans every continuation the reply already used after the same prefix", () => {
    expect(banned([1, 2, 3, 1, 2, 4, 1, 2], 0)).toEqual([3, 4]);
  });
  it("lets the reply quote n-grams of the prompt (the facts it is grounded in)", () => {
    // Prompt 1 2 3; the reply so far 1 2: quoting "1 2 3" is allowed.
    expect(banned([1, 2, 3, 1, 2], 3)).toEqual([]);
  });
  it("bans nothing before the reply is long enough to repeat", () => {
    expect(banned([5, 6, 7, 1], 3)).toEqual([]);
  });
});
