/**
 * Checks a generated sentence against the facts its reply is grounded in, before the customer sees
 * it. Pure (the sentence's and facts' vectors come from the encoder), so every rule is unit-tested:
 *  - claims: every number, amount, duration, weekday, place and product/feature name must appear in
 *    the facts or the question;
 *  - support: the sentence must say what some fact sentence says (encoder similarity), and each of its
 *    clauses must be close to some fact or fact clause (no true clause with an invented one attached);
 *  - polarity: a "yes"/"can" sentence must not rest on a fact that says "no"/"only"/"cannot", and the
 *    reverse;
 *  - no talk about the conversation ("the customer asked…"), no repeated 4-word phrase.
 */
import { cosine } from "../models/encoder";

export interface CheckedFact {
  id: string;
  text: string;
  vector: Float32Array;
  /** The fact's clauses (lib/sentences.ts `clauses`) with their vectors; polarity is judged on the closest. */
  clauses: { text: string; vector: Float32Array }[];
}

export type Verdict =
  | { ok: true; factId: string; similarity: number }
  | { ok: false; reason: "invented" | "unsupported" | "contradicts" | "meta" | "repeats"; detail: string };

/** Below this similarity to every fact, a sentence is not supported (chosen on bench:replies). */
export const SUPPORT_THRESHOLD = 0.6;
/**
 * Below this similarity to every fact and fact clause, a clause of the sentence is not supported
 * (measured: tacked-on inventions such as "…, and it's a reminder to pay your bills on time" score
 * 0.26-0.35, a misplaced claim ("you can check it in 1 business day" after a tracking fact) 0.48,
 * paraphrased fact clauses 0.58 and up). Clauses under CLAUSE_MIN_WORDS words (list tails such as
 * "and US.") are not judged alone.
 */
export const CLAUSE_SUPPORT_THRESHOLD = 0.5;
const CLAUSE_MIN_WORDS = 3;
/** A sentence covers a fact when it is this close and carries all of the fact's claims. */
export const COVER_THRESHOLD = 0.7;

const NUMBER_WORDS: Record<string, string> = {
  zero: "0", one: "1", two: "2", three: "3", four: "4", five: "5", six: "6", seven: "7", eight: "8", nine: "9",
  ten: "10", eleven: "11", twelve: "12", fifteen: "15", twenty: "20", thirty: "30", sixty: "60", hundred: "100",
  once: "1", twice: "2", single: "1", double: "2",
};
const WEEKDAYS = /\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|weekday)s?\b/gi;
/** Capitalised words that are not claims: the company, the assistant, pronouns, greetings. */
const NOT_NAMES = new Set(["i", "northwind", "goods", "loopdesk", "ok", "okay", "hi", "hello", "sorry", "thanks", "please", "yes", "no"]);

/**
 * The checkable claims of a text, normalised: numbers and amounts ("3-5", "$50", "10%", "8:00-20:00";
 * number words as digits), weekdays, and capitalised names that are not the first word of a sentence.
 */
export function claims(text: string): Set<string> {
  const found = new Set<string>();
  const numeric = /\$?\d+(?:[.,:]\d+)*(?:\s*(?:-|–|to)\s*\$?\d+(?:[.,:]\d+)*)?%?/g;
  for (const m of text.matchAll(numeric)) found.add(m[0].replace(/\s*(?:–|to)\s*|\s*-\s*/g, "-").replace(/[.,]$/, ""));
  for (const m of text.toLowerCase().matchAll(/\b[a-z]+\b/g)) {
    const digit = NUMBER_WORDS[m[0]];
    if (digit) found.add(digit);
  }
  for (const m of text.matchAll(WEEKDAYS)) found.add(m[1]!.toLowerCase());
  // Names: a capitalised word that does not start a sentence, or an all-caps acronym. A quoted word is
  // a label (a button, a menu, a section: "Accounts") unless its quote starts the sentence.
  for (const m of text.matchAll(/(?<!(?:[.!?:]\s|^|\n)["'(]?)\b([A-Z][A-Za-z]+|[A-Z]{2,})\b/g)) {
    const word = m[1]!.toLowerCase();
    if (!NOT_NAMES.has(word) && !WEEKDAYS.test(word)) found.add(word);
    WEEKDAYS.lastIndex = 0;
  }
  return found;
}

/**
 * The claims of `sentence` that appear in none of `sources`. A name also counts as known when the
 * sources have it as an ordinary word ("Forgot password" after "click forgot password").
 */
export function inventedClaims(sentence: string, sources: string[]): string[] {
  const known = new Set(sources.flatMap((s) => [...claims(s)]));
  const words = new Set(sources.join(" ").toLowerCase().match(/[a-z]+/g) ?? []);
  return [...claims(sentence)].filter((c) => !known.has(c) && !words.has(c));
}

const NEGATIVE = /\b(?:no|not|never|cannot|can't|won't|don't|doesn't|isn't|aren't|only|no longer|unable)\b|n't\b/i;

/** Whether a clause says "no": a negation, or "only" (which excludes what is not named). */
export function isNegative(clause: string): boolean {
  return NEGATIVE.test(clause);
}

const META = /\b(?:the customer|customer's|customers' question|this question|the question|the facts|as an ai|assistant|i'?m (?:here|glad)|you(?:'ve| have) (?:asked|answered))\b/i;

/** Word 4-grams of a text, lower-cased. */
export function ngrams(text: string, n = 4): string[] {
  const words = text.toLowerCase().match(/[a-z0-9$%'-]+/g) ?? [];
  const grams: string[] = [];
  for (let i = 0; i + n <= words.length; i++) grams.push(words.slice(i, i + n).join(" "));
  return grams;
}

/** A 4-word phrase that `sentence` repeats, from itself or from `earlier`, if any. */
export function repeatedPhrase(sentence: string, earlier: string): string | null {
  const seen = new Set(ngrams(earlier));
  for (const gram of ngrams(sentence)) {
    if (seen.has(gram)) return gram;
    seen.add(gram);
  }
  return null;
}

/** A sentence to check: its text and vector, and its clauses' (lib/sentences.ts `clauses`). */
export interface CheckedSentence {
  text: string;
  vector: Float32Array;
  clauses: { text: string; vector: Float32Array }[];
}

export function checkSentence(candidate: CheckedSentence, ctx: { facts: CheckedFact[]; question: string; earlier: string }): Verdict {
  const { text: sentence, vector } = candidate;
  if (META.test(sentence)) return { ok: false, reason: "meta", detail: "talks about the conversation" };
  const repeated = repeatedPhrase(sentence, ctx.earlier);
  if (repeated) return { ok: false, reason: "repeats", detail: repeated };
  const invented = inventedClaims(sentence, [...ctx.facts.map((f) => f.text), ctx.question]);
  if (invented.length > 0) return { ok: false, reason: "invented", detail: invented.join(", ") };
  let best: { fact: CheckedFact; similarity: number } | null = null;
  for (const fact of ctx.facts) {
    const similarity = cosine(vector, fact.vector);
    if (!best || similarity > best.similarity) best = { fact, similarity };
  }
  if (!best || best.similarity < SUPPORT_THRESHOLD) {
    return { ok: false, reason: "unsupported", detail: `best similarity ${best ? best.similarity.toFixed(2) : "none"}` };
  }
  const factVectors = ctx.facts.flatMap((f) => [f.vector, ...f.clauses.map((c) => c.vector)]);
  for (const clause of candidate.clauses) {
    if (clause.text.split(/\s+/).length < CLAUSE_MIN_WORDS) continue;
    const similarity = Math.max(...factVectors.map((v) => cosine(clause.vector, v)));
    if (similarity < CLAUSE_SUPPORT_THRESHOLD) return { ok: false, reason: "unsupported", detail: `clause "${clause.text}" (${similarity.toFixed(2)})` };
  }
  // Polarity against the closest clause of the supporting fact.
  let closest = best.fact.text;
  let closestSimilarity = -1;
  for (const clause of best.fact.clauses) {
    const s = cosine(vector, clause.vector);
    if (s > closestSimilarity) [closest, closestSimilarity] = [clause.text, s];
  }
  const saysYes = /^\s*(?:yes|sure|of course|absolutely)\b/i.test(sentence);
  if (isNegative(sentence) !== isNegative(closest) || (saysYes && isNegative(best.fact.text))) {
    return { ok: false, reason: "contradicts", detail: `"${closest}"` };
  }
  return { ok: true, factId: best.fact.id, similarity: best.similarity };
}

/** Whether `sentence` says what `fact` says, with all of its claims: the reply answers with it. */
export function covers(sentence: string, vector: Float32Array, fact: CheckedFact): boolean {
  if (cosine(vector, fact.vector) < COVER_THRESHOLD) return false;
  const have = claims(sentence);
  return [...claims(fact.text)].every((c) => have.has(c));
}
