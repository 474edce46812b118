/**
 * The lexical half of retrieval (lib/db/knowledge.ts rankSentencesByText): BM25 over the stored
 * sentences of the shipped help centre, on the real Postgres the test server seeded.
 */
import { afterAll, describe, expect, inject, it } from "vitest";

// lib modules read DATABASE_URL when first used, so it is set before they are imported.
process.env.DATABASE_URL = inject("databaseUrl");
const { rankSentencesByText } = await import("@/lib/db/knowledge");
const { db } = await import("@/lib/db/client");

afterAll(async () => {
  await db().$disconnect();
});

describe("rankSentencesByText", () => {
  it("weights a word by how rare it is: one 'warranty' outranks 'order' said four times", async () => {
    const ranks = await rankSentencesByText("warranty order");
    const warranty = [...ranks.keys()].filter((id) => id.startsWith("warranty-and-repairs#"));
    expect(warranty.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...ranks.values())).toBe(1);
    // "To cancel, go to My Orders, open the order and choose Cancel order; … the order has already been
    // dispatched." never says "warranty" (plain ts_rank put it above two of the warranty sentences).
    expect(ranks.get("cancelling-an-order#1")).toBeLessThan(Math.min(...warranty.map((id) => ranks.get(id)!)));
  });

  it("finds the one sentence with a rare word first, by its stem, and scales to the best", async () => {
    const ranks = await rankSentencesByText("I checked out as a Guest");
    expect([...ranks][0]).toEqual(["tracking-your-order#0", 1]);
    for (const rank of ranks.values()) expect(rank).toBeGreaterThan(0), expect(rank).toBeLessThanOrEqual(1);
  });

  it("ranks nothing for stop words, unknown words or no words", async () => {
    expect(await rankSentencesByText("how do I do it")).toEqual(new Map());
    expect(await rankSentencesByText("zxqv bitcoinz")).toEqual(new Map());
    expect(await rankSentencesByText("?!")).toEqual(new Map());
  });
});
