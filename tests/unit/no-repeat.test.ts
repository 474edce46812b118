/** The n-gram ban the language model decodes with: no repeats within the reply, quoting the prompt allowed. */
import { describe, expect, it } from "vitest";
import { repeatingTokens } from "@/lib/models/decoder";

const banned = (reply: number[], n = 3) => [...repeatingTokens(reply, n)].sort();

describe("repeatingTokens", () => {
  it("bans the token that would repeat an n-gram of the reply", () => {
    // Reply 1 2 3 1 2: a 3 next would repeat "1 2 3".
    expect(banned([1, 2, 3, 1, 2])).toEqual([3]);
  });
  it("bans every continuation the reply already used after the same prefix", () => {
    expect(banned([1, 2, 3, 1, 2, 4, 1, 2])).toEqual([3, 4]);
  });
  it("looks at the reply only, so quoting the prompt's n-grams stays allowed", () => {
    // The prompt may hold "1 2 3"; the reply so far is 1 2: nothing to ban.
    expect(banned([1, 2])).toEqual([]);
  });
  it("bans nothing before the reply is long enough to repeat", () => {
    expect(banned([1])).toEqual([]);
  });
});
