/**
 * Retrieval: the few knowledge-base sentences that answer a customer's message. Each sentence of every
 * live help-centre article is embedded once (when the articles are loaded or edited), alone and after
 * its article's title; a question is ranked against them by encoder similarity, plus a lexical rank
 * (BM25 in Postgres), plus a preference for the classified intent's article. A message with two
 * questions gets the best sentence for each, each part ranked on its own words. Customers' shorthand
 * ("amex") is spelt out first (./glossary.ts).
 */
import { cosine, type Encoder } from "../models/encoder";
import { articleSentences, clauses } from "../sentences";
import { spellOutShorthand } from "./glossary";

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
  /** The sentence read in its article ("<title>: <sentence>"): what it is about is often only in the title. */
  inArticle: Float32Array;
  /** Its clauses: a question may be about one part of a long sentence. */
  clauses: { text: string; vector: Float32Array }[];
}

export interface RankedFact extends Fact {
  score: number;
  /** The best fact for one of the questions of a message that asks several. */
  answersPart: boolean;
}

/** Lexical rank of fact ids for a question (0..1, best = 1), from Postgres; injected so ranking stays testable. */
export type TextRank = (question: string) => Promise<Map<string, number>>;

/** The retrieved facts must be at least this relevant (encoder similarity plus bonuses) to answer from. */
export const MIN_FACT_SCORE = 0.35;
const INTENT_BONUS = 0.08;
const TEXT_RANK_WEIGHT = 0.15;
/**
 * How much a sentence's similarity moves toward its similarity read after the article's title, when
 * that is higher. "guests can use the order lookup…" says nothing of tracking, its title ("Tracking your
 * order") does; halfway, because the title lifts every sentence of its article alike and the sentence's
 * own words must still tell them apart (chosen on bench:replies and questions written apart from it).
 */
const ARTICLE_CONTEXT_WEIGHT = 0.5;
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
  // One batch for every sentence and clause: [sentence, sentence in its article, its clauses…] per row.
  const vectors = await encoder.embed(rows.flatMap((r) => [r.text, inArticle(r.article.title, r.text), ...r.clauses]));
  let next = 0;
  return {
    articles,
    facts: rows.map((r) => ({
      id: r.id,
      text: r.text,
      article: { slug: r.article.slug, title: r.article.title, version: r.article.version },
      vector: vectors[next++]!,
      inArticle: vectors[next++]!,
      clauses: r.clauses.map((text) => ({ text, vector: vectors[next++]! })),
    })),
  };
}

/** A sentence as it reads in its article, for the encoder. */
function inArticle(title: string, sentence: string): string {
  return `${title}: ${sentence}`;
}

/** Encoder similarity of a question to a fact: its best clause, drawn toward the fact read in its article. */
function similarity(question: Float32Array, fact: Fact): number {
  const own = Math.max(cosine(question, fact.vector), ...fact.clauses.map((c) => cosine(question, c.vector)));
  return own + ARTICLE_CONTEXT_WEIGHT * Math.max(0, cosine(question, fact.inArticle) - own);
}

/**
 * The parts of a message that ask or tell something on their own: two sentences, "…? And …?", or a
 * comma splice whose second half starts anew with its subject ("how do i track it, i checked out as a
 * guest"): what the customer adds about themselves often decides which sentence answers.
 */
export function questionParts(message: string): string[] {
  const parts = message
    .split(/(?<=[?!.])\s+|,\s+(?=(?:i|i'm|im|i've|ive|we|my)\b)|\s+\b(?:and also|also|and)\b\s+(?=(?:how|what|when|where|can|could|do|does|is|are|will|why|which)\b)/i)
    .map((p) => p.trim())
    .filter((p) => p.split(/\s+/).length >= 2);
  return parts.length > 1 ? parts : [message];
}

/** Whether a part of a message asks something (rather than tells): a question mark, or a question's first word. */
function asks(part: string): boolean {
  return /\?\s*$/.test(part) || /^(?:and\s+|also\s+)?(?:how|what|when|where|why|which|who|can|could|do|does|did|is|are|will|would|should|may)\b/i.test(part);
}

/**
 * The facts a reply to `message` is grounded in, best first: the best fact for the whole message, the
 * best for each of its parts, and facts nearly as good as the best. Empty when nothing is relevant.
 * Each query (the message, each part) gets its own lexical rank: a part's words, not the whole
 * message's, say which sentence answers it.
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
  const query = spellOutShorthand(message);
  const parts = questionParts(query);
  const queries = parts.length > 1 ? [query, ...parts] : [query];
  const [vectors, textRanks] = await Promise.all([
    encoder.embed(queries),
    Promise.all(queries.map((query) => opts.textRank?.(query) ?? new Map<string, number>())),
  ]);
  const rank = (query: number): RankedFact[] =>
    index.facts
      .map((fact) => ({
        ...fact,
        answersPart: false,
        score:
          similarity(vectors[query]!, fact) +
          (preferred.has(fact.article.slug) ? INTENT_BONUS : 0) +
          TEXT_RANK_WEIGHT * (textRanks[query]!.get(fact.id) ?? 0),
      }))
      .sort((a, b) => b.score - a.score);

  const whole = rank(0);
  const best = whole[0]!;
  if (best.score < opts.minScore) return [];
  const chosen = new Map<string, RankedFact>([[best.id, best]]);
  for (let part = 1; part < queries.length; part++) {
    // What the customer tells ("i ordered yesterday") only narrows their question: its sentence must
    // be on the question's topic. A part that asks may be about anything.
    const candidates = asks(queries[part]!) ? rank(part) : rank(part).filter((f) => preferred.has(f.article.slug));
    const top = candidates[0];
    if (top && top.score >= MIN_PART_SCORE && chosen.size < MAX_FACTS && !chosen.has(top.id)) chosen.set(top.id, { ...top, answersPart: true });
  }
  for (const fact of whole.slice(1)) {
    if (chosen.size >= MAX_FACTS || fact.score < best.score - NEAR_BEST) break;
    if (!chosen.has(fact.id)) chosen.set(fact.id, fact); // a part's best keeps its answersPart
  }
  return [...chosen.values()];
}
