/**
 * A grounded reply, checked sentence by sentence before the customer sees it. The language model
 * writes from the retrieved facts; each finished sentence is checked (lib/chat/check.ts) and only then
 * released. The first sentence must also carry one of the facts whole (the model may open with the
 * one that answers, which is not always retrieval's best), or the reply is the facts quoted verbatim
 * after a short fixed phrase; the model is stopped at the first sentence that fails, at the sentence
 * limit, or at its token budget, and a reply always ends at a complete sentence. Either way the reply
 * carries the facts the quoted reply would (the best, and the next if nearly as good or the best for
 * another question): in the model's words where they cover them, quoted after them where not. What was
 * checked, dropped or replaced is returned for the reply's record.
 */
import { NEAR_BEST, type RankedFact } from "../knowledge/retrieve";
import { clauses, completeSentencesLength, splitSentences } from "../sentences";
import { cosine, type Encoder } from "../models/encoder";
import { GenerationStopper, type ChatTurn, type GenerationResult, type LanguageModel } from "../models/lm";
import type { ReplyCheck } from "../protocol/chat";
import { checkSentence, covers, repeatedPhrase } from "./check";

/** Introduces facts quoted verbatim when the model's own words did not pass. */
export const QUOTE_INTRO = "Here is what our help centre says:";

export interface GroundedReply extends GenerationResult {
  check: ReplyCheck;
}

export async function writeGroundedReply(opts: {
  lm: LanguageModel;
  encoder: Encoder;
  question: string;
  facts: RankedFact[];
  /** The prompt for these facts. */
  turns: ChatTurn[];
  maxNewTokens: number;
  maxSentences: number;
  stopper: GenerationStopper;
  /** Releases text to the customer; called with whole sentences, in order. */
  emit: (text: string) => void;
}): Promise<GroundedReply> {
  const { encoder, question, facts, stopper } = opts;
  const record = emptyCheck(facts);
  let sent = "";
  const send = (text: string) => {
    const piece = sent ? ` ${text}` : text;
    sent += piece;
    opts.emit(piece);
  };

  // Sentences are checked one after another as the model finishes them; a failure stops the model.
  const enough = new GenerationStopper();
  let pending = "";
  let checking = Promise.resolve();
  /** The sentences sent, with their vectors, to tell which facts the reply already carries. */
  const accepted: { text: string; vector: Float32Array }[] = [];
  const judge = async (sentence: string) => {
    if (enough.interrupted || stopper.interrupted) return;
    const parts = clauses(sentence);
    const [vector, ...clauseVectors] = await encoder.embed([sentence, ...parts]);
    const candidate = { text: sentence, vector: vector!, clauses: parts.map((text, i) => ({ text, vector: clauseVectors[i]! })) };
    const verdict = checkSentence(candidate, { facts, question, earlier: sent });
    if (verdict.ok && accepted.length === 0 && !facts.some((f) => covers(sentence, vector!, f))) {
      record.sentences.push({ text: sentence, sent: false, reason: "does_not_cover" });
      enough.interrupt();
      return;
    }
    if (!verdict.ok) {
      record.sentences.push({ text: sentence, sent: false, reason: verdict.reason, detail: verdict.detail });
      enough.interrupt();
      return;
    }
    record.sentences.push({ text: sentence, sent: true });
    send(sentence);
    accepted.push({ text: sentence, vector: vector! });
    if (accepted.length >= opts.maxSentences) enough.interrupt();
  };
  const result = await opts.lm.generate(opts.turns, {
    maxNewTokens: opts.maxNewTokens,
    stopper,
    enough,
    onText: (piece) => {
      pending += piece;
      // A sentence is finished once the text after its end mark has started.
      const end = completeSentencesLength(pending);
      if (end === 0 || end === pending.trimEnd().length) return;
      for (const sentence of splitSentences(pending.slice(0, end))) checking = checking.then(() => judge(sentence));
      pending = pending.slice(end);
    },
  });
  const tail = pending.trim();
  if (tail) {
    const end = completeSentencesLength(tail);
    for (const sentence of splitSentences(tail.slice(0, end))) checking = checking.then(() => judge(sentence));
    if (end < tail.length) record.sentences.push({ text: tail.slice(end).trim(), sent: false, reason: "incomplete" });
  }
  await checking;

  if (!stopper.interrupted) {
    if (accepted.length === 0) {
      // Nothing of the model's passed: quote the facts that answer.
      record.replaced = true;
      const quote = quoteFacts(facts);
      for (const piece of quote.pieces) send(piece);
      record.quoted.push(...quote.quoted);
    } else {
      // What the model's sentences left out of the facts the quoted reply would have carried, and the
      // other questions' best: a model tends to answer from one fact, and retrieval's best is not always
      // the one the customer asked about. A sentence stands for the one fact it is closest to: a paraphrase
      // of the near-best fact ("you can return the item within 30 days") is also close to the best ("you can
      // return unused items … within 30 days") but drops its condition, so the best is still quoted.
      const carried = carriedFacts(facts);
      const closest = (vector: Float32Array) => facts.reduce((a, b) => (cosine(vector, b.vector) > cosine(vector, a.vector) ? b : a));
      for (const fact of facts.filter((f) => f.answersPart || carried.includes(f))) {
        if (repeatedPhrase(fact.text, sent) || accepted.some((a) => closest(a.vector) === fact && covers(a.text, a.vector, fact))) continue;
        send(fact.text);
        record.quoted.push(fact.id);
      }
    }
  }
  return { ...result, text: sent, check: record };
}

/** The facts every reply carries: the best, then the best for another question of the message, else the next if nearly as good. */
function carriedFacts(facts: RankedFact[]): RankedFact[] {
  const [top, ...rest] = facts;
  const second = rest.find((f) => f.answersPart) ?? rest.find((f) => f.score >= top!.score - NEAR_BEST);
  return second ? [top!, second] : [top!];
}

/** The record of a reply grounded in `facts`, before anything is checked or quoted. */
function emptyCheck(facts: RankedFact[]): ReplyCheck {
  return {
    facts: facts.map((f) => ({ id: f.id, text: f.text, score: Number(f.score.toFixed(3)), article: f.article })),
    sentences: [],
    quoted: [],
    replaced: false,
  };
}

/** The carried facts (`carriedFacts`) quoted verbatim after a fixed phrase; `pieces` are sent in order. */
function quoteFacts(facts: RankedFact[]): { pieces: string[]; quoted: string[] } {
  const [top, second] = carriedFacts(facts);
  const first = `${QUOTE_INTRO} ${top!.text}`;
  return second && !repeatedPhrase(second.text, first)
    ? { pieces: [first, second.text], quoted: [top!.id, second.id] }
    : { pieces: [first], quoted: [top!.id] };
}

/**
 * The reply without the model, when generation is too far off (lib/chat/generation-queue.ts): its
 * facts quoted as the check's fallback quotes them, recorded with the wait that was expected.
 */
export function quotedReply(facts: RankedFact[], underLoad: NonNullable<ReplyCheck["underLoad"]>): { text: string; check: ReplyCheck } {
  const quote = quoteFacts(facts);
  return { text: quote.pieces.join(" "), check: { ...emptyCheck(facts), quoted: quote.quoted, underLoad } };
}
