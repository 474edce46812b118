/**
 * Retrieval: the few knowledge-base sentences that answer a customer's message. Each sentence of every
 * live help-centre article is embedded once (when the articles are loaded or edited); a question is
 * ranked against them by encoder similarity, plus Postgres full-text rank, plus a preference for the
 * classified intent's article. A message with two questions gets the best sentence for each.
 */
import { cosine, type Encoder } from "../models/encoder";
import { articleSentences, clauses } from "../sentences";

export interface Article {
  slug: string;
  title: string;
  /** The intent whose replies prefer this article, if any. */
  intent: string | null;
  version: number;
  body: string;
}

export interface Fact {
  /** Stable within one index: `<slug>#<position>`. */
  id: string;
  text: string;
  article: Pick<Article, "slug" | "title" | "version">;
  vector: Float32Array;
  /** Its clauses: a question may be about one part of a long sentence. */
  clauses: { text: string; vector: Float32Array }[];
}

export interface RankedFact extends Fact {
  score: number;
  /** The best fact for one of the questions of a message that asks several. */
  answersPart: boolean;
}

/** Full-text rank of fact ids for a question, from Postgres (0..1); injected so ranking stays testable. */
export type TextRank = (question: string) => Promise<Map<string, number>>;

/** The retrieved facts must be at least this relevant (encoder similarity plus bonuses) to answer from. */
export const MIN_FACT_SCORE = 0.35;
const INTENT_BONUS = 0.08;
const TEXT_RANK_WEIGHT = 0.15;
/** A second question's best fact is used when it is about this good. */
const MIN_PART_SCORE = 0.45;
/** Facts this close to the best one go in the prompt too (at most MAX_FACTS). */
export const NEAR_BEST = 0.1;
const MAX_FACTS = 3;

export interface KnowledgeIndex {
  facts: Fact[];
  articles: Article[];
}

/** Fact ids are `<slug>#<position>`, the same as the stored KnowledgeSentence ids. */
export function factId(slug: string, position: number): string {
  return `${slug}#${position}`;
}

export async function buildIndex(articles: Article[], encoder: Encoder): Promise<KnowledgeIndex> {
  const rows = articles.flatMap((article) =>
    articleSentences(article.body).map((text, i) => ({ id: factId(article.slug, i), text, article, clauses: clauses(text) })),
  );
  // One batch for every sentence and clause: [sentence, its clauses…] per row.
  const vectors = await encoder.embed(rows.flatMap((r) => [r.text, ...r.clauses]));
  let next = 0;
  return {
    articles,
    facts: rows.map((r) => ({
      id: r.id,
      text: r.text,
      article: { slug: r.article.slug, title: r.article.title, version: r.article.version },
      vector: vectors[next++]!,
      clauses: r.clauses.map((text) => ({ text, vector: vectors[next++]! })),
    })),
  };
}

/** The parts of a message that ask something on their own ("…? And …?" or two sentences). */
export function questionParts(message: string): string[] {
  const parts = message
    .split(/(?<=[?!.])\s+|\s+\b(?:and also|also|and)\b\s+(?=(?:how|what|when|where|can|could|do|does|is|are|will|why|which)\b)/i)
    .map((p) => p.trim())
    .filter((p) => p.split(/\s+/).length >= 2);
  return parts.length > 1 ? parts : [message];
}

/**
 * The facts a reply to `message` is grounded in, best first: the best fact for the whole message, the
 * best for each of its parts, and facts nearly as good as the best. Empty when nothing is relevant.
 */
export async function retrieve(
  index: KnowledgeIndex,
  encoder: Encoder,
  message: string,
  opts: {
    intent: string | null;
    textRank?: TextRank;
    minScore: number;
    /** Only the intent's articles, e.g. when the customer picked the topic themselves. */
    onlyIntent?: boolean;
  },
): Promise<RankedFact[]> {
  const preferred = new Set(index.articles.filter((a) => a.intent === opts.intent).map((a) => a.slug));
  if (opts.onlyIntent) index = { ...index, facts: index.facts.filter((f) => preferred.has(f.article.slug)) };
  if (index.facts.length === 0) return [];
  const parts = questionParts(message);
  const queries = parts.length > 1 ? [message, ...parts] : [message];
  const [vectors, textRanks] = await Promise.all([encoder.embed(queries), opts.textRank?.(message) ?? new Map<string, number>()]);
  const rank = (vector: Float32Array): RankedFact[] =>
    index.facts
      .map((fact) => ({
        ...fact,
        answersPart: false,
        score:
          Math.max(cosine(vector, fact.vector), ...fact.clauses.map((c) => cosine(vector, c.vector))) +
          (preferred.has(fact.article.slug) ? INTENT_BONUS : 0) +
          TEXT_RANK_WEIGHT * (textRanks.get(fact.id) ?? 0),
      }))
      .sort((a, b) => b.score - a.score);

  const whole = rank(vectors[0]!);
  const best = whole[0]!;
  if (best.score < opts.minScore) return [];
  const chosen = new Map<string, RankedFact>([[best.id, best]]);
  for (const vector of vectors.slice(1)) {
    const top = rank(vector)[0]!;
    if (top.score >= MIN_PART_SCORE && chosen.size < MAX_FACTS && !chosen.has(top.id)) chosen.set(top.id, { ...top, answersPart: true });
  }
  for (const fact of whole.slice(1)) {
    if (chosen.size >= MAX_FACTS || fact.score < best.score - NEAR_BEST) break;
    chosen.set(fact.id, fact);
  }
  return [...chosen.values()];
}
