/** Retrieval ranking on the shipped knowledge base, with the real encoder (full-text rank left out). */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildIndex, questionParts, retrieve, type Article, type KnowledgeIndex } from "@/lib/knowledge/retrieve";
import { loadEncoder, type Encoder } from "@/lib/models/encoder";

const articles: Article[] = (JSON.parse(readFileSync("training/data/knowledge_base.json", "utf8")) as Omit<Article, "version">[]).map((a) => ({
  ...a,
  version: 1,
}));
let encoder: Encoder;
let index: KnowledgeIndex;
beforeAll(async () => {
  encoder = await loadEncoder("models");
  index = await buildIndex(articles, encoder);
});

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
});
