/**
 * Which facts a grounded reply carries, with the real encoder and the shipped help-centre sentences; the
 * language model is scripted (the seam): it "writes" a fixed text, so the test is about what is kept,
 * checked and added around the model's words.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { QUOTE_INTRO, quotedReply, writeGroundedReply } from "@/lib/chat/grounded-reply";
import type { RankedFact } from "@/lib/knowledge/retrieve";
import { loadEncoder, type Encoder } from "@/lib/models/encoder";
import { GenerationStopper, type LanguageModel } from "@/lib/models/lm";
import { clauses } from "@/lib/sentences";

let encoder: Encoder;
beforeAll(async () => {
  encoder = await loadEncoder("models");
});

const HOW_TO_CANCEL = "To cancel, go to My Orders, open the order and choose Cancel order; if the button is greyed out, the order has already been dispatched.";
const FREE_UNTIL_SHIPPED = "An order can be cancelled free of charge until it ships, which usually happens within 2 hours of ordering.";
const REFUND_TIME = "Refunds for cancelled orders go back to the original payment method within 3-5 business days.";

async function fact(id: string, text: string, score: number, answersPart = false): Promise<RankedFact> {
  const parts = clauses(text);
  const [vector, ...clauseVectors] = await encoder.embed([text, ...parts]);
  return {
    id, text, score, answersPart, vector: vector!, inArticle: vector!,
    article: { slug: "cancelling-an-order", title: "Cancelling an order", version: 1 },
    clauses: parts.map((c, i) => ({ text: c, vector: clauseVectors[i]! })),
  };
}

/** A model that writes `text`, a few characters at a time. */
function scripted(text: string): LanguageModel {
  return {
    id: "scripted", version: "scripted",
    countTokens: (t) => t.length,
    async generate(_turns, opts) {
      for (let i = 0; i < text.length && !opts.enough?.interrupted; i += 7) opts.onText(text.slice(i, i + 7));
      return { text, tokenCount: text.length, timeToFirstTokenMs: 1, generationMs: 1, stopped: false };
    },
    answerLoss: async () => ({ nll: 0, tokens: 0 }),
    dispose: async () => {},
  };
}

async function reply(modelText: string, facts: RankedFact[]) {
  return writeGroundedReply({
    lm: scripted(modelText), encoder, question: "is there a fee to cancel my order", facts, turns: [],
    maxNewTokens: 96, maxSentences: 2, stopper: new GenerationStopper(), emit: () => {},
  });
}

describe("writeGroundedReply: the facts a reply carries", () => {
  it("adds a fact nearly as good as the best when the model's words answered from the best alone", async () => {
    const facts = [await fact("how", HOW_TO_CANCEL, 0.8), await fact("free", FREE_UNTIL_SHIPPED, 0.75)];
    const r = await reply("To cancel, go to My Orders, open the order and choose Cancel order; if the button is greyed out, your order has already been dispatched.", facts);
    expect(r.check.replaced).toBe(false);
    expect(r.check.sentences.filter((s) => s.sent)).toHaveLength(1);
    expect(r.check.quoted).toEqual(["free"]);
    expect(r.text).toContain(FREE_UNTIL_SHIPPED);
  });

  it("does not repeat a near-best fact the model's words already carry, paraphrased", async () => {
    const facts = [await fact("how", HOW_TO_CANCEL, 0.8), await fact("free", FREE_UNTIL_SHIPPED, 0.75)];
    const r = await reply(
      "To cancel, go to My Orders, open the order and choose Cancel order; if the button is greyed out, your order has already been dispatched. You can cancel your order free of charge until it ships, which usually happens within 2 hours of ordering.",
      facts,
    );
    expect(r.check.sentences.filter((s) => s.sent)).toHaveLength(2);
    expect(r.check.quoted).toEqual([]);
  });

  it("lets the model open with a fact other than the best, then quotes the best after it", async () => {
    const facts = [await fact("how", HOW_TO_CANCEL, 0.8), await fact("free", FREE_UNTIL_SHIPPED, 0.75)];
    const r = await reply("You can cancel your order free of charge until it ships, which usually happens within 2 hours of ordering.", facts);
    expect(r.check.replaced).toBe(false);
    expect(r.check.quoted).toEqual(["how"]);
    expect(r.text).toBe(`You can cancel your order free of charge until it ships, which usually happens within 2 hours of ordering. ${HOW_TO_CANCEL}`);
  });

  it("quotes the best after a sentence that paraphrases the near-best fact, even when it is close to the best too", async () => {
    // Both facts say "return … within 30 days"; the model's sentence is the exchange one and drops "unused".
    const UNUSED = "You can return unused items in their original packaging within 30 days of delivery.";
    const EXCHANGE = "If the order has already shipped, you can return the unwanted item within 30 days and order the correct one.";
    const facts = [await fact("unused", UNUSED, 0.8), await fact("exchange", EXCHANGE, 0.75)];
    const r = await reply("If your order has already shipped, you can return the unwanted item within 30 days and order the correct one.", facts);
    expect(r.check.replaced).toBe(false);
    expect(r.check.quoted).toEqual(["unused"]);
    expect(r.text).toContain(UNUSED);
  });

  it("refuses an opening sentence that carries no fact whole, and quotes instead", async () => {
    const facts = [await fact("how", HOW_TO_CANCEL, 0.8), await fact("free", FREE_UNTIL_SHIPPED, 0.75)];
    const r = await reply("You can cancel your order in My Orders.", facts);
    expect(r.check.sentences[0]).toMatchObject({ sent: false });
    expect(r.check.replaced).toBe(true);
  });

  it("leaves out a fact well below the best", async () => {
    const facts = [await fact("how", HOW_TO_CANCEL, 0.8), await fact("refund", REFUND_TIME, 0.6)];
    const r = await reply("To cancel, go to My Orders, open the order and choose Cancel order; if the button is greyed out, your order has already been dispatched.", facts);
    expect(r.check.quoted).toEqual([]);
    expect(r.text).not.toContain(REFUND_TIME);
  });

  it("quotes the best and the near-best fact when none of the model's words pass", async () => {
    const facts = [await fact("how", HOW_TO_CANCEL, 0.8), await fact("free", FREE_UNTIL_SHIPPED, 0.75)];
    const r = await reply("Cancelling costs a fee of $5 at Northwind Goods.", facts);
    expect(r.check.replaced).toBe(true);
    expect(r.check.quoted).toEqual(["how", "free"]);
    expect(r.text).toBe(`${QUOTE_INTRO} ${HOW_TO_CANCEL} ${FREE_UNTIL_SHIPPED}`);
  });
});

describe("quotedReply: the answer without the model, under load", () => {
  it("quotes what the check's fallback would, checks no sentence, and records the wait", async () => {
    const facts = [await fact("how", HOW_TO_CANCEL, 0.8), await fact("free", FREE_UNTIL_SHIPPED, 0.75), await fact("refund", REFUND_TIME, 0.6)];
    const fallback = await reply("Cancelling costs a fee of $5 at Northwind Goods.", facts);
    const underLoad = { expectedWaitMs: 4000, boundMs: 2000 };
    const quoted = quotedReply(facts, underLoad);
    expect(quoted.text).toBe(fallback.text);
    expect(quoted.check).toEqual({ facts: fallback.check.facts, sentences: [], quoted: ["how", "free"], replaced: false, underLoad });
  });
});
