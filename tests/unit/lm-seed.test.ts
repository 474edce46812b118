/**
 * The language model's seed set (training/data/lm_seed.jsonl): enough examples over every
 * knowledge-base intent, facts copied verbatim from the articles, questions apart from the reply
 * benchmark's, every line valid for training, and every answer passing the sentence checks serving
 * runs on the model's words (lib/chat/check.ts, with the real encoder): only what the facts say.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { checkSentence, covers, type CheckedFact } from "@/lib/chat/check";
import { lmSeedRowSchema, type LmSeedRow } from "@/lib/dataset/lm-example";
import { LM_SEED_FILE, readLmSeed } from "@/lib/dataset/lm-export";
import { loadEncoder, type Encoder } from "@/lib/models/encoder";
import { loadLmRenderer } from "@/lib/models/lm-tokenizer";
import { articleSentences, clauses, splitSentences } from "@/lib/sentences";
import { textKey } from "@/lib/text";

const seed: LmSeedRow[] = readFileSync(LM_SEED_FILE, "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => lmSeedRowSchema.parse(JSON.parse(l)));
const articles = JSON.parse(readFileSync("training/data/knowledge_base.json", "utf8")) as { intent: string; body: string }[];
const bench = JSON.parse(readFileSync("bench/replies/questions.json", "utf8")) as { text: string }[];

/** Words of a text, lower-cased, punctuation dropped. */
const words = (text: string) => new Set(text.toLowerCase().match(/[a-z0-9]+/g) ?? []);
/** Share of words two texts have in common (Jaccard): a reworded benchmark question scores high. */
function overlap(a: string, b: string): number {
  const wa = words(a);
  const wb = words(b);
  const common = [...wa].filter((w) => wb.has(w)).length;
  return common / (wa.size + wb.size - common);
}
/** At or above this word overlap two questions are near-duplicates (measured: the seed's closest to the benchmark is 0.58). */
const NEAR_DUPLICATE = 0.6;

describe("the LM seed set", () => {
  it("has at least 600 examples over every knowledge-base intent", () => {
    expect(seed.length).toBeGreaterThanOrEqual(600);
    const perIntent = new Map<string, number>();
    for (const row of seed) perIntent.set(row.intent, (perIntent.get(row.intent) ?? 0) + 1);
    expect([...perIntent.keys()].sort()).toEqual(articles.map((a) => a.intent).sort());
    for (const [intent, n] of perIntent) expect(n, intent).toBeGreaterThanOrEqual(25);
  });

  it("copies every fact verbatim from its intent's article, as retrieval splits it", () => {
    for (const row of seed) {
      const article = articles.find((a) => a.intent === row.intent)!;
      for (const fact of row.facts) expect(articleSentences(article.body), row.question).toContain(fact);
    }
  });

  it("asks each question once, and none that (nearly) matches a reply-benchmark question", () => {
    const keys = seed.map((r) => textKey(r.question.replace(/[^\p{L}\p{N}\s]/gu, "")));
    expect(new Set(keys).size).toBe(keys.length);
    const close = seed.flatMap((r) => bench.filter((b) => overlap(r.question, b.text) >= NEAR_DUPLICATE).map((b) => `${r.question} ~ ${b.text}`));
    expect(close).toEqual([]);
  });

  it("passes the import validation (lengths, tokens, the training context)", async () => {
    const renderer = await loadLmRenderer("models", 768);
    await expect(readLmSeed(renderer)).resolves.toHaveLength(seed.length);
  });

  describe("answers pass serving's sentence checks against their own facts", () => {
    let encoder: Encoder;
    beforeAll(async () => {
      encoder = await loadEncoder("models");
    });

    async function embedded(id: string, text: string): Promise<CheckedFact> {
      const parts = clauses(text);
      const [vector, ...clauseVectors] = await encoder.embed([text, ...parts]);
      return { id, text, vector: vector!, clauses: parts.map((c, i) => ({ text: c, vector: clauseVectors[i]! })) };
    }

    it("every sentence is supported, invents nothing, keeps the facts' polarity; the first carries one of the facts, as serving requires", async () => {
      const failures: string[] = [];
      // Paraphrased questions share an answer: check each (answer, facts) once, with one of its questions.
      const distinct = new Map(seed.map((r) => [JSON.stringify([r.answer, r.facts]), r]));
      for (const row of distinct.values()) {
        const facts = await Promise.all(row.facts.map((text, i) => embedded(`f${i}`, text)));
        let earlier = "";
        for (const [i, sentence] of splitSentences(row.answer).entries()) {
          const candidate = await embedded("s", sentence);
          const verdict = checkSentence(candidate, { facts, question: row.question, earlier });
          if (!verdict.ok) failures.push(`${verdict.reason} (${verdict.detail}): ${sentence}`);
          else if (i === 0 && !facts.some((f) => covers(sentence, candidate.vector, f))) failures.push(`carries none of its facts: ${sentence}`);
          earlier = `${earlier} ${sentence}`;
        }
      }
      expect(distinct.size).toBeGreaterThan(80);
      expect(failures).toEqual([]);
    }, 120_000);
  });
});
