/** The knowledge editor's pure parts: slugs from titles, and what an article's text may contain. */
import { describe, expect, it } from "vitest";
import { articleSaveSchema, newArticleSchema, slugFromTitle } from "@/lib/knowledge/editor";

describe("slugFromTitle", () => {
  it.each([
    ["Returns, exchanges and refunds", "returns-exchanges-and-refunds"],
    ["  Café & crème brûlée!  ", "cafe-creme-brulee"],
    ["Pay with Apple Pay (UK only)", "pay-with-apple-pay-uk-only"],
    ["--- 24/7 support ---", "24-7-support"],
    ["配送", ""],
    ["!!!", ""],
  ])("%j → %j", (title, slug) => expect(slugFromTitle(title)).toBe(slug));

  it("keeps slugs short, without a trailing dash", () => {
    const slug = slugFromTitle(`${"a".repeat(79)} b`);
    expect(slug).toBe("a".repeat(79));
  });
});

describe("article text", () => {
  const valid = { title: "Title", body: "One sentence.", intent: null };
  const parse = (patch: Record<string, unknown>) => newArticleSchema.safeParse({ ...valid, ...patch });

  it.each([
    ["an empty body", { body: " \n\t " }],
    ["a body over 20,000 characters", { body: "x".repeat(20_001) }],
    ["a bell in the body", { body: "Ding\u0007." }],
    ["a NUL in the body", { body: "a\u0000b." }],
    ["a line break in the title", { title: "a\nb" }],
    ["a title over 200 characters", { title: "t".repeat(201) }],
    ["an unknown field", { slug: "x" }],
  ])("refuses %s", (_, patch) => expect(parse(patch).success).toBe(false));

  it("accepts paragraphs and tabs, and trims", () => {
    const parsed = parse({ title: "  Title ", body: " First.\n\nSecond,\tthird.\r\n" });
    expect(parsed.data).toEqual({ title: "Title", body: "First.\n\nSecond,\tthird.", intent: null });
  });

  it("a save names the version it started from", () => {
    expect(articleSaveSchema.safeParse({ ...valid, retired: false }).success).toBe(false);
    expect(articleSaveSchema.safeParse({ ...valid, retired: false, expectedVersion: 0 }).success).toBe(false);
    expect(articleSaveSchema.safeParse({ ...valid, retired: true, expectedVersion: 3 }).success).toBe(true);
  });
});
