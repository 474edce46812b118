import { describe, expect, it } from "vitest";
import { articleSentences, completeSentencesLength, MAX_SENTENCES_PER_ARTICLE, splitSentences } from "@/lib/sentences";

describe("splitSentences", () => {
  it.each([
    ["One. Two! Three?", ["One.", "Two!", "Three?"]],
    ["Orders over $50 ship free. Express takes 1-2 business days.", ["Orders over $50 ship free.", "Express takes 1-2 business days."]],
    ["Pay e.g. with PayPal. Or a card.", ["Pay e.g. with PayPal.", "Or a card."]],
    ["Version 2.5 is out. Use it.", ["Version 2.5 is out.", "Use it."]],
    ["Go to My Orders > Return. Then print the label", ["Go to My Orders > Return.", "Then print the label"]],
    ['He said "Done." Then left.', ['He said "Done."', "Then left."]],
    ["", []],
  ])("%j", (text, sentences) => {
    expect(splitSentences(text)).toEqual(sentences);
  });
});

describe("completeSentencesLength: where a reply cut by its token budget ends", () => {
  it.each([
    ["You can return it within 30 days. Refunds take 5-7 business", "You can return it within 30 days."],
    ["You can return it within 30 days.", "You can return it within 30 days."],
    ["You can return it within", ""],
    ["Sure! Pay e.g. with", "Sure!"],
  ])("%j", (text, kept) => {
    expect(text.slice(0, completeSentencesLength(text))).toBe(kept);
  });
});

describe("articleSentences", () => {
  it("bounds what one article puts in the index, whatever its size", () => {
    expect(articleSentences("Short one. ".repeat(5000))).toHaveLength(MAX_SENTENCES_PER_ARTICLE);
    expect(articleSentences(`${"x".repeat(700)}. A normal sentence.`)).toEqual(["A normal sentence."]);
    expect(articleSentences("   ")).toEqual([]);
  });
});
