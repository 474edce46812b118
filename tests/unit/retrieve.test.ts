/** Retrieval ranking on the shipped knowledge base, with the real encoder (the lexical rank, from Postgres, injected or left out). */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { spellOutShorthand } from "@/lib/knowledge/glossary";
import { buildIndex, MIN_FACT_SCORE, NEAR_BEST, questionParts, retrieve, type Article, type KnowledgeIndex } from "@/lib/knowledge/retrieve";
import { loadEncoder, type Encoder } from "@/lib/models/encoder";

const articles: Article[] = (JSON.parse(readFileSync("training/data/knowledge_base.json", "utf8")) as Omit<Article, "version">[]).map((a) => ({
  ...a,
  version: 1,
}));
let encoder: Encoder;
let index: KnowledgeIndex;
// Embedding every sentence three ways (alone, in its article, its clauses) takes seconds on a busy machine.
beforeAll(async () => {
  encoder = await loadEncoder("models");
  index = await buildIndex(articles, encoder);
}, 60_000);

const best = async (q: string, intent: string | null = null) => (await retrieve(index, encoder, q, { intent, minScore: 0.3 }))[0];

describe("retrieve", () => {
  it.each([
    ["can I use two discount codes on one order?", "discount-codes-sales-and-promotions", /only one code/],
    ["do you deliver on saturdays?", "shipping-options-costs-and-destinations", /Monday to Friday/],
    ["where can I find the user manual for my kettle?", "product-details-and-usage", /User manuals/],
    ["how long do refunds take?", "returns-exchanges-and-refunds", /5-7 business days/],
    ["pasword reset link not arriving", "login-password-and-account-settings", /reset link/],
    ["can I cancel after it shipped?", "cancelling-an-order", /no longer be cancelled/],
    ["how long is the warranty on electronics?", "warranty-and-repairs", /2-year warranty/],
    // A method the shop does not take is answered by the list of those it does.
    ["is paying with Klarna possible?", "payment-issues", /^You can pay with Visa/],
  ])("%s → the sentence that answers it", async (question, slug, sentence) => {
    const fact = await best(question);
    expect(fact?.article.slug).toBe(slug);
    expect(fact?.text).toMatch(sentence);
  });

  it("prefers the classified intent's article when two say nearly the same", async () => {
    // Both the tracking and the shipping article give shipping times.
    expect((await best("how many days does express take?", "order_status"))?.article.slug).toBe("tracking-your-order");
    expect((await best("how many days does express take?", "shipping_info"))?.article.slug).toBe("shipping-options-costs-and-destinations");
  });

  it("keeps to the intent's articles when asked to (a topic the customer picked)", async () => {
    const facts = await retrieve(index, encoder, "the code for my order", { intent: "order_status", minScore: 0, onlyIntent: true });
    expect(facts.length).toBeGreaterThan(0);
    expect(new Set(facts.map((f) => f.article.slug))).toEqual(new Set(["tracking-your-order"]));
  });

  it("finds a fact for each question of a message that asks two", async () => {
    const facts = await retrieve(index, encoder, "Do you ship to the UK? And can I pay with PayPal?", { intent: "shipping_info", minScore: 0.3 });
    expect(facts.map((f) => f.article.slug)).toEqual(expect.arrayContaining(["shipping-options-costs-and-destinations", "payment-issues"]));
  });

  it("returns nothing when nothing is relevant enough, or there is nothing to search", async () => {
    expect(await retrieve(index, encoder, "what is the capital of mongolia", { intent: null, minScore: 0.5 })).toEqual([]);
    expect(await retrieve({ facts: [], articles: [] }, encoder, "where is my order", { intent: null, minScore: 0 })).toEqual([]);
  });

  it("splits a message into the questions it asks", () => {
    expect(questionParts("Do you ship to the UK? And can I pay with PayPal?")).toEqual(["Do you ship to the UK?", "And can I pay with PayPal?"]);
    expect(questionParts("how much is shipping and how long does it take")).toEqual(["how much is shipping", "how long does it take"]);
    expect(questionParts("where is my order")).toEqual(["where is my order"]);
  });

  it("splits a comma splice that starts anew with its subject, not a list or an aside", () => {
    expect(questionParts("where is my package, i ordered it as a guest")).toEqual(["where is my package", "i ordered it as a guest"]);
    expect(questionParts("can I change the address, my order was placed an hour ago")).toEqual(["can I change the address", "my order was placed an hour ago"]);
    expect(questionParts("do you sell kettles, toasters and blenders")).toEqual(["do you sell kettles, toasters and blenders"]);
    expect(questionParts("Hi, is my parcel on its way")).toEqual(["Hi, is my parcel on its way"]);
  });

  it("reads a sentence in its article: an exclusion that never says 'warranty' answers a warranty question", async () => {
    // "Accidental damage, misuse and normal wear and tear are not covered." is the warranty article's;
    // alone the encoder ranks it below sentences that say "warranty" (it was not retrieved at all).
    const exclusion = /^Accidental damage/;
    expect((await best("my phone fell in the pool, does the warranty cover that?", "warranty_repair"))?.text).toMatch(exclusion);
    const facts = await retrieve(index, encoder, "I sat on my headphones and snapped them, can I get a warranty repair?", { intent: "warranty_repair", minScore: 0.35 });
    const found = facts.find((f) => exclusion.test(f.text));
    expect(found?.score).toBeGreaterThanOrEqual(facts[0]!.score - NEAR_BEST);
  });

  it("ranks each part of a message on its own words, and the whole message on all of them", async () => {
    const message = "how do i track my parcel, i checked out as a guest";
    const asked: string[] = [];
    // A lexical rank that matches the guests' sentence on the second part's words only (as BM25 does
    // on the rare "guest"); without it, that part's best is too weak to count.
    const textRank = async (query: string) => {
      asked.push(query);
      return new Map(query === "i checked out as a guest" ? [["tracking-your-order#0", 1]] : []);
    };
    const opts = { intent: "order_status", minScore: 0.35 };
    const without = await retrieve(index, encoder, message, opts);
    const facts = await retrieve(index, encoder, message, { ...opts, textRank });
    expect(asked).toEqual([message, "how do i track my parcel", "i checked out as a guest"]);
    expect(facts[0]).toEqual(without[0]);
    expect(without.some((f) => f.answersPart)).toBe(false);
    expect(facts.find((f) => f.id === "tracking-your-order#0")).toMatchObject({ answersPart: true, text: expect.stringMatching(/guests can use the order lookup/) });
  });

  it("takes what a customer tells about themselves only on the question's topic", async () => {
    const message = "why is there no invoice in my account yet, i ordered yesterday";
    // As BM25 would: "ordered" matches the change-order article's "order the correct one" best.
    const textRank = async (query: string) => new Map(query === "i ordered yesterday" ? [["changing-items-in-an-order#3", 1]] : []);
    const told = await retrieve(index, encoder, message, { intent: "invoice_receipt", minScore: 0.35, textRank });
    expect(told[0]?.article.slug).toBe("invoices-receipts-and-vat");
    expect(told.map((f) => f.id)).not.toContain("changing-items-in-an-order#3");
    // On its own topic the same statement's sentence is taken.
    const onTopic = await retrieve(index, encoder, message, { intent: "change_order", minScore: 0.35, textRank });
    expect(onTopic.find((f) => f.id === "changing-items-in-an-order#3")).toMatchObject({ answersPart: true });
  });

  it("reads customers' shorthand as the help centre spells it out", async () => {
    // Without the glossary the encoder does not know "amex": the payments sentence scored 0.30.
    const facts = await retrieve(index, encoder, "do you take amex?", { intent: null, minScore: MIN_FACT_SCORE });
    expect(facts[0]?.text).toMatch(/^You can pay with Visa, Mastercard and American Express/);
    const asked: string[] = [];
    await retrieve(index, encoder, "whats ur return policy", { intent: null, minScore: 0, textRank: async (q) => (asked.push(q), new Map()) });
    expect(asked).toEqual(["whats your return policy"]);
  });
});

describe("spellOutShorthand", () => {
  it("spells out whole shorthand words in any case, and nothing else", () => {
    expect(spellOutShorthand("Do u take AMEX or applepay?")).toBe("Do you take American Express or Apple Pay?");
    expect(spellOutShorthand("my 2FA code never comes, pls help")).toBe("my two-factor code never comes, please help");
    // Part of a longer, hyphenated or dotted word: left alone.
    expect(spellOutShorthand("I live in the U.S. and ordered a u-lock and a urn")).toBe("I live in the U.S. and ordered a u-lock and a urn");
  });
});
