/**
 * The steps of a bot reply that do not touch the database: decide what to do with a classified
 * message, retrieve the facts, write the checked, grounded reply. The chat turn (lib/chat/turn.ts)
 * runs them around its persistence; the language-model gate (lib/training/lm-gate.ts) runs the same
 * steps with a candidate model injected, so what is gated is what is served.
 */
import { config } from "../config";
import type { Encoder } from "../models/encoder";
import type { GenerationStopper, LanguageModel } from "../models/lm";
import { MIN_FACT_SCORE, retrieve, type KnowledgeIndex, type RankedFact, type TextRank } from "../knowledge/retrieve";
import type { ReplyCheck, ReplySource } from "../protocol/chat";
import { decide, type Classification, type Decision } from "./decide";
import { writeGroundedReply, type GroundedReply } from "./grounded-reply";
import { buildPrompt, type HistoryMessage } from "./prompt";

/** A reply is at most this many sentences: a 135M model's later sentences are rarely worth reading. */
const MAX_REPLY_SENTENCES = 2;

export interface Knowledge {
  encoder: Encoder;
  index: KnowledgeIndex;
  textRank: TextRank;
}

/** The intents the help centre has an article for (the topics a clarifying question may offer). */
export function helpCentreTopics(index: KnowledgeIndex): Set<string> {
  return new Set(index.articles.flatMap((a) => (a.intent ? [a.intent] : [])));
}

/** What to do with a classified message, with the help centre's best match for it as a second opinion. */
export async function decideReply(k: Knowledge, text: string, prediction: Classification, lowConfidenceStreak: number): Promise<Decision> {
  const [best] = await retrieve(k.index, k.encoder, text, { intent: null, minScore: 0, textRank: k.textRank });
  const match = best ? { intent: k.index.articles.find((a) => a.slug === best.article.slug)?.intent ?? null, score: best.score } : null;
  return decide(prediction, lowConfidenceStreak, config().intentThresholds, helpCentreTopics(k.index), match, text);
}

/**
 * The facts an answer is grounded in, the intent's articles preferred. A topic the customer picked
 * ("clarified") is answered from that topic's articles, or from any article if none has a match.
 */
export async function retrieveFacts(k: Knowledge, text: string, intent: string, kind: "reply" | "clarified"): Promise<RankedFact[]> {
  const search = (onlyIntent: boolean) => retrieve(k.index, k.encoder, text, { intent, minScore: MIN_FACT_SCORE, textRank: k.textRank, onlyIntent });
  const facts = await search(kind === "clarified");
  return facts.length === 0 && kind === "clarified" ? search(false) : facts;
}

/** The language model's reply from the facts, checked sentence by sentence, released through `emit`. */
export function writeReply(opts: {
  lm: LanguageModel;
  encoder: Encoder;
  question: string;
  facts: RankedFact[];
  /** The conversation so far, ending with the question. */
  history: HistoryMessage[];
  stopper: GenerationStopper;
  emit: (text: string) => void;
}): Promise<GroundedReply> {
  const turns = buildPrompt({
    history: opts.history,
    countTokens: opts.lm.countTokens,
    historyTokens: config().LM_HISTORY_TOKENS,
    facts: opts.facts.map((f) => f.text),
  });
  return writeGroundedReply({
    lm: opts.lm,
    encoder: opts.encoder,
    question: opts.question,
    facts: opts.facts,
    turns,
    maxNewTokens: config().LM_MAX_NEW_TOKENS,
    maxSentences: MAX_REPLY_SENTENCES,
    stopper: opts.stopper,
    emit: opts.emit,
  });
}

/** The articles a reply's sent sentences rest on: all its facts if the model's words passed, else those quoted. */
export function sourcesOf(check: ReplyCheck): ReplySource[] {
  const sent = new Set(check.sentences.some((s) => s.sent) ? check.facts.map((f) => f.id) : check.quoted);
  const articles = new Map(check.facts.filter((f) => sent.has(f.id)).map((f) => [f.article.slug, f.article.title]));
  return [...articles].map(([slug, title]) => ({ slug, title, url: `/help/${slug}` }));
}
