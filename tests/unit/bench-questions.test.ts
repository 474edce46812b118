/** The reply benchmark's question set: valid, spread over every intent, checkable against the knowledge base, not copied from the training data. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { DEFAULT_QUESTIONS_FILE, loadKnowledgeBase, loadQuestions, parseQuestions } from "@/lib/reply-bench/questions";
import { TEMPLATE_REPLIES, type SmallTalkIntent } from "@/lib/chat/decide";

const articles = loadKnowledgeBase();
const questions = loadQuestions(DEFAULT_QUESTIONS_FILE, articles);
/** What a right answer is drawn from: the intent's article, or for small talk the bot's fixed reply. */
const sourceOf = (intent: string) => {
  const a = articles.find((x) => x.intent === intent);
  if (a) return `${a.title}. ${a.body}`;
  return TEMPLATE_REPLIES[intent as SmallTalkIntent] ?? "";
};

describe("bench:replies question set", () => {
  it("has at least 90 questions over every intent, 4-7 for each shop topic", () => {
    expect(questions.length).toBeGreaterThanOrEqual(90);
    const perIntent = new Map<string, number>();
    for (const q of questions) perIntent.set(q.intent, (perIntent.get(q.intent) ?? 0) + 1);
    for (const a of articles) expect(perIntent.get(a.intent) ?? 0, a.intent).toBeGreaterThanOrEqual(3);
    const small = ["greeting", "thanks", "goodbye", "complaint", "talk_to_human", "out_of_scope"];
    for (const a of articles.filter((x) => !small.includes(x.intent))) {
      expect(perIntent.get(a.intent), a.intent).toBeGreaterThanOrEqual(4);
      expect(perIntent.get(a.intent), a.intent).toBeLessThanOrEqual(7);
    }
  });

  it("every required fact occurs in the question's article (small talk: its fixed reply), and no forbidden claim does", () => {
    for (const q of questions) {
      const article = sourceOf(q.intent);
      for (const alternatives of q.facts)
        expect(alternatives.some((a) => new RegExp(a, "iu").test(article)), `${q.id}: ${alternatives.join(" | ")}`).toBe(true);
      for (const f of q.forbidden) expect(new RegExp(f, "iu").test(article), `${q.id}: forbidden ${f}`).toBe(false);
    }
  });

  it("takes no question from training/data/intents.csv", () => {
    const normalise = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}\s]/gu, "").replace(/\s+/g, " ").trim();
    const rows = parse(readFileSync(path.resolve("training/data/intents.csv")), { columns: true }) as { text: string }[];
    const training = new Set(rows.map((r) => normalise(r.text)));
    expect(questions.filter((q) => training.has(normalise(q.text))).map((q) => q.id)).toEqual([]);
  });

  it("names each problem of an invalid question file", () => {
    const bad = [
      { id: "a", text: "x", intent: "nope", expect: "answer", facts: [["("]] },
      { id: "a", text: "y", intent: "greeting", expect: "maybe" },
    ];
    expect(() => parseQuestions(bad, articles)).toThrow(/not a valid regular expression/);
    expect(() => parseQuestions(bad, articles)).toThrow(/\[1\]\.expect/);
    expect(() => parseQuestions([bad[0]!, { ...bad[0]!, facts: [] }], articles)).toThrow(/unknown intent "nope"[\s\S]*duplicate id a/);
  });
});
