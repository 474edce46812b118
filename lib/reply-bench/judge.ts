/**
 * The reply benchmark's judge: decides, from a question and the bot's observed reply, whether the reply
 * is right, by the definitions of issue 11. Used by `npm run bench:replies` and the language-model gate
 * (lib/training/lm-gate.ts). Pure and written apart from the serving path's checks (lib/chat/check.ts)
 * on purpose: it is the measuring stick for that code, so it must not share its checks.
 */
import { SMALL_TALK, TEMPLATE_REPLIES } from "../chat/decide";
import type { ReplyBenchFigures } from "../protocol/ml";

export type Expectation = "answer" | "abstain" | "handoff";

export interface BenchQuestion {
  id: string;
  text: string;
  /** The topic whose knowledge-base article answers the question. */
  intent: string;
  expect: Expectation;
  /** Required facts; each is a list of acceptable alternatives (case-insensitive regexes). */
  facts: string[][];
  /** Claims a right reply must not make (case-insensitive regexes). */
  forbidden: string[];
}

export interface KnowledgeArticle {
  intent: string;
  title: string;
  body: string;
}

/** A source article as the server reports it in `chat:done` (absent on servers that report none). */
export interface ReportedSource {
  title?: string;
  slug?: string;
}

export interface ObservedReply {
  text: string;
  /** The conversation went to staff (status `waiting_for_agent`). */
  handedOff: boolean;
  /** The bot asked a clarifying question (`chat:done` carried `clarify`). */
  clarified: boolean;
  sources?: ReportedSource[];
}

export interface Verdict {
  pass: boolean;
  /** Every required fact is present. */
  facts: boolean;
  missingFacts: string[][];
  /** The forbidden claims the reply made (the matched text). */
  contradictions: string[];
  /** Numbers, durations, days, places and names found in neither the question nor the grounding. */
  invented: string[];
  /** The first word 4-gram that occurs twice, or null. */
  repetitive: string | null;
  cutOff: boolean;
  abstained: boolean;
  handedOff: boolean;
  /** The articles the reply was judged as grounded in. */
  groundedIn: string[];
  /** Why the reply did not pass, in words; empty when it passed. */
  reasons: string[];
}

// The shop's and the assistant's own names are in every prompt the bot gets, so naming them invents nothing.
const SHOP_NAMES = ["Northwind Goods", "Northwind", "Loopdesk"];

/** Fixed replies that decline to answer; the fixed replies to small talk are answers. */
const ABSTAINING_TEXTS = new Set(
  Object.entries(TEMPLATE_REPLIES)
    .filter(([key]) => !(SMALL_TALK as readonly string[]).includes(key))
    .map(([, t]) => t.trim()),
);

export function judge(question: BenchQuestion, reply: ObservedReply, articles: KnowledgeArticle[]): Verdict {
  const text = reply.text.trim();
  const grounding = groundingArticles(question, reply.sources, articles);
  const missing = missingFacts(text, question.facts);
  const contradictions = forbiddenClaims(text, question.forbidden);
  const abstained = ABSTAINING_TEXTS.has(text) || reply.handedOff || reply.clarified;
  // A template, a handoff or a clarifying question is not an answer the model wrote: only what the
  // bot wrote as an answer is checked for invented terms, loops and an unfinished last sentence.
  const answered = !abstained;
  const groundingText = [question.text, ...SHOP_NAMES, ...grounding.map((a) => `${a.title}. ${a.body}`)].join("\n");
  const invented = answered ? inventedTerms(text, groundingText) : [];
  const repetitive = answered ? repeatedFourGram(text) : null;
  const cutOff = answered && isCutOff(text);

  const reasons: string[] = [];
  if (question.expect === "answer") {
    if (abstained) reasons.push(reply.handedOff ? "handed off instead of answering" : "abstained instead of answering");
    for (const fact of missing) reasons.push(`missing fact: ${fact.join(" | ")}`);
  } else if (question.expect === "abstain" && !abstained) reasons.push("answered instead of abstaining");
  else if (question.expect === "handoff" && !reply.handedOff) reasons.push("did not hand off");
  for (const c of contradictions) reasons.push(`forbidden claim: "${c}"`);
  if (question.expect === "answer") {
    if (invented.length > 0) reasons.push(`invented: ${invented.join(", ")}`);
    if (repetitive) reasons.push(`repetitive: "${repetitive}" twice`);
    if (cutOff) reasons.push(`cut off: ends "…${text.slice(-30)}"`);
  }
  return {
    pass: reasons.length === 0,
    facts: missing.length === 0,
    missingFacts: missing,
    contradictions,
    invented,
    repetitive,
    cutOff,
    abstained,
    handedOff: reply.handedOff,
    groundedIn: grounding.map((a) => a.title),
    reasons,
  };
}

/** The benchmark's figures over judged replies: pass and facts as fractions, the rest as counts of replies. */
export function benchFigures(verdicts: Verdict[]): ReplyBenchFigures {
  const count = (f: (v: Verdict) => boolean) => verdicts.filter(f).length;
  const fraction = (f: (v: Verdict) => boolean) => (verdicts.length === 0 ? 0 : count(f) / verdicts.length);
  return {
    replies: verdicts.length,
    pass: fraction((v) => v.pass),
    facts: fraction((v) => v.facts),
    contradictions: count((v) => v.contradictions.length > 0),
    invented: count((v) => v.invented.length > 0),
    repetitive: count((v) => v.repetitive !== null),
    cutOff: count((v) => v.cutOff),
    abstained: count((v) => v.abstained),
  };
}

const regex = (source: string) => new RegExp(source, "iu");

/** The required facts of which no alternative occurs in the text. */
export function missingFacts(text: string, facts: string[][]): string[][] {
  return facts.filter((alternatives) => !alternatives.some((a) => regex(a).test(text)));
}

/** The text each forbidden claim matched. */
export function forbiddenClaims(text: string, forbidden: string[]): string[] {
  return forbidden.flatMap((f) => {
    const m = regex(f).exec(text);
    return m ? [m[0]] : [];
  });
}

const slugify = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");

/**
 * The articles a reply is judged against: those the server reports as its sources (matched by title,
 * or by slug against the title's or the intent's slug), else the article of the question's intent.
 */
export function groundingArticles(question: BenchQuestion, sources: ReportedSource[] | undefined, articles: KnowledgeArticle[]): KnowledgeArticle[] {
  const reported = articles.filter((a) =>
    (sources ?? []).some(
      (s) =>
        (s.title !== undefined && s.title.trim().toLowerCase() === a.title.toLowerCase()) ||
        (s.slug !== undefined && [slugify(a.title), slugify(a.intent)].includes(slugify(s.slug))),
    ),
  );
  if (reported.length > 0) return reported;
  return articles.filter((a) => a.intent === question.intent);
}

/** The first word 4-gram that occurs twice in the text (words lower-cased, punctuation ignored), or null. */
export function repeatedFourGram(text: string): string | null {
  const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
  const seen = new Set<string>();
  for (let i = 0; i + 4 <= words.length; i++) {
    const gram = words.slice(i, i + 4).join(" ");
    if (seen.has(gram)) return gram;
    seen.add(gram);
  }
  return null;
}

/**
 * Whether the text does not end at the end of a sentence: its last character (after trailing emoji)
 * must be . ! or ?, possibly followed by closing quotes or brackets; an ellipsis is not an ending.
 */
export function isCutOff(text: string): boolean {
  const t = text.replace(/[\s\p{Extended_Pictographic}\uFE0F]+$/u, "");
  return !/[.!?]["'”’)\]]*$/.test(t) || /(\.\.\.|…)["'”’)\]]*$/.test(t);
}

// ---- Invented terms ----------------------------------------------------------------------------

const NUMBER_WORDS: Record<string, string> = {
  two: "2", three: "3", four: "4", five: "5", six: "6", seven: "7", eight: "8", nine: "9", ten: "10",
  eleven: "11", twelve: "12", fifteen: "15", twenty: "20", thirty: "30", forty: "40", fifty: "50",
  sixty: "60", ninety: "90", hundred: "100",
};
const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
// Day words that are not weekday names but still claim when something happens. ("Weekends" is not
// one: it is how a right answer says "not Saturday or Sunday" when the facts say "Monday to Friday".)
const DAY_WORDS = ["tomorrow", "tonight", "overnight"];
const DURATION_UNITS = ["minute", "hour", "day", "week", "month", "year"];

/** Place names (matched with their capitals as written), each with the place it stands for. */
const PLACES: Record<string, string> = {
  EU: "eu", "European Union": "eu", Europe: "eu",
  UK: "uk", "U.K.": "uk", "United Kingdom": "uk", Britain: "uk", "Great Britain": "uk", England: "uk", Scotland: "uk", Wales: "uk",
  US: "us", "U.S.": "us", USA: "us", "United States": "us", America: "us",
  ...Object.fromEntries(
    [
      "Germany", "France", "Spain", "Italy", "Netherlands", "Belgium", "Austria", "Ireland", "Portugal", "Poland", "Sweden",
      "Denmark", "Finland", "Norway", "Switzerland", "Greece", "Hungary", "Romania", "Luxembourg", "Iceland", "Canada",
      "Mexico", "Brazil", "Argentina", "Australia", "New Zealand", "Japan", "China", "India", "Russia", "Korea", "Singapore",
      "Israel", "Turkey", "South Africa", "Asia", "Africa", "South America", "North America", "London", "Paris", "Berlin",
      "Madrid", "Rome", "Amsterdam", "Dublin", "Vienna", "Brussels", "Lisbon", "Warsaw", "Stockholm", "Copenhagen", "Munich",
      "Hamburg", "Milan", "Barcelona", "Manchester", "Edinburgh", "New York", "Los Angeles", "Chicago", "San Francisco",
      "Boston", "Seattle", "Toronto", "Sydney", "Melbourne", "Canberra", "Tokyo",
    ].map((p) => [p, p.toLowerCase()]),
  ),
};
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const PLACE_PATTERN = new RegExp(
  `(?<![\\p{L}.])(${Object.keys(PLACES).sort((a, b) => b.length - a.length).map(escape).join("|")})(?![\\p{L}])`,
  "gu",
);

/**
 * The places a text names whatever their capitals, as `place:` terms: customers write "germany". Not the
 * two-letter ones, which lower-cased are words ("us").
 */
function placesInAnyCase(text: string): string[] {
  const places = new Map(Object.entries(PLACES).filter(([name]) => name.length > 2).map(([name, place]) => [name.toLowerCase(), place]));
  const pattern = new RegExp(`(?<![\\p{L}.])(${[...places.keys()].sort((a, b) => b.length - a.length).map(escape).join("|")})(?![\\p{L}])`, "giu");
  return [...text.matchAll(pattern)].map((m) => `place:${places.get(m[1]!.toLowerCase())}`);
}

/**
 * Capitalised words that start sentences or address the customer rather than name a thing; they are
 * dropped from the front of a run of capitalised words before it is taken as a name.
 */
const NOT_NAMES = new Set(
  (
    "I I'm I'll I've I'd OK Hi Hello Hey Dear Thanks Thank Please Sorry Yes No The A An Our Your You We If To In On At For And " +
    "But So Then Once After Before When It This That Unfortunately However Also Just Simply Go Click Open Choose Select " +
    "Visit Check Enter Sign Customer"
  )
    .toLowerCase()
    .split(" "),
);

/**
 * The terms of the reply that make factual claims and occur in neither the question nor the grounding
 * text (given with the question in `groundingText`). Each is named by kind: `number:30`,
 * `duration:week`, `day:saturday`, `place:australia`, `name:Accounts & Lists`.
 */
export function inventedTerms(reply: string, groundingText: string): string[] {
  const known = new Set([...claimTerms(groundingText), ...placesInAnyCase(groundingText)]);
  const knownText = normalise(groundingText);
  const invented = claimTerms(reply).filter((t) => !known.has(t));
  // Names are looked up in the grounding text as written, whatever its capitals ("Cancel order").
  const names = capitalisedNames(reply)
    .filter((n) => !knownText.includes(normalise(n)))
    .map((n) => `name:${n}`);
  return [...new Set([...invented, ...names])];
}

const normalise = (s: string) => s.toLowerCase().replace(/\s+/g, " ");

/** Numbers, durations, days and places in a text, as kind:value terms. */
export function claimTerms(text: string): string[] {
  const terms: string[] = [];
  for (const m of text.matchAll(/\d+(?:[.,:]\d+)*/g)) terms.push(`number:${normaliseNumber(m[0])}`);
  for (const m of text.matchAll(new RegExp(`\\b(${Object.keys(NUMBER_WORDS).join("|")})\\b`, "gi")))
    terms.push(`number:${NUMBER_WORDS[m[1]!.toLowerCase()]}`);
  const count = `\\d+|a|an|one|few|couple of|several|${Object.keys(NUMBER_WORDS).join("|")}`;
  const durations = new RegExp(`\\b(?:${count})[\\s-]+(?:(?:business|working|calendar)\\s+)?(${DURATION_UNITS.join("|")})s?\\b`, "gi");
  for (const m of text.matchAll(durations)) terms.push(`duration:${m[1]!.toLowerCase()}`);
  for (const m of text.matchAll(new RegExp(`\\b(${[...DAYS, ...DAY_WORDS].join("|")})s?\\b`, "gi"))) terms.push(`day:${m[1]!.toLowerCase()}`);
  for (const m of text.matchAll(/\b(Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)\b/g))
    terms.push(`day:${DAYS.find((d) => d.startsWith(m[1]!.toLowerCase()))}`);
  for (const m of text.matchAll(PLACE_PATTERN)) terms.push(`place:${PLACES[m[1]!]}`);
  for (const m of text.matchAll(/\b(worldwide|internationally|international)\b/gi)) terms.push("place:worldwide");
  return terms;
}

/** "1,000" → "1000", "8:00" → "8", "50.00" → "50". */
function normaliseNumber(n: string): string {
  return n.replace(/,(?=\d{3}\b)/g, "").replace(/[.:]0+$/, "");
}

/**
 * Product, feature, brand and other names: runs of capitalised words ("My Orders", "Accounts & Lists",
 * "Submit"), without leading sentence words ("Please", "The"). A single word counts only where it
 * does not start a sentence, unless it is an acronym ("DHL"). Places and days are terms of their own.
 */
function capitalisedNames(text: string): string[] {
  const names: string[] = [];
  const word = String.raw`[\p{Lu}][\p{L}\p{N}'’-]*`;
  for (const m of text.matchAll(new RegExp(`${word}(?:\\s+(?:&\\s+)?${word})*`, "gu"))) {
    const before = text.slice(0, m.index).trimEnd();
    const startsSentence = before === "" || /[.!?:;\n•*-]$|^\d+\.$|\n\d+\.$/.test(before);
    const words = m[0].split(/\s+/);
    let dropped = 0;
    while (words.length > 0 && NOT_NAMES.has(words[0]!.toLowerCase())) {
      words.shift();
      dropped++;
    }
    // "Northwind's" and "Northwind-related" name Northwind.
    const name = words.join(" ").replace(/['’]s$|-\p{Ll}+$/u, "");
    if (words.length === 0 || isPlaceOrDay(name)) continue;
    const acronym = /^[\p{Lu}\p{N}-]{2,}$/u.test(name);
    if (words.length === 1 && startsSentence && dropped === 0 && !acronym) continue;
    names.push(name);
  }
  return names;
}

function isPlaceOrDay(name: string): boolean {
  if (name in PLACES) return true;
  const terms = claimTerms(name);
  return terms.length > 0 && terms.every((t) => t.startsWith("day:") || t.startsWith("place:"));
}
