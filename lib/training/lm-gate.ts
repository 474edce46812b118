/**
 * The language-model gate. A candidate LM and the LM in production each answer the reply benchmark's
 * questions (the set frozen beside the candidate when it was registered) through the serving path's own
 * steps (lib/chat/compose.ts: decision, retrieval, grounded reply, sentence checks) with the same
 * classifier, encoder and live help centre, and every reply is judged by the benchmark's judge
 * (lib/reply-bench/judge.ts). Both models' held-out perplexity on the candidate's snapshot holdout is
 * computed here in Node from the int8 ONNX logits (the figures the trainer reports come from PyTorch).
 * The candidate is refused when it passes fewer questions or makes more contradictions, invented
 * terms or repetitive replies than production (`lmGateVerdict`, pure). Every run is stored
 * (LmGateReport) for the ML console's side-by-side page.
 */
import { createHash } from "node:crypto";
import { copyFile, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { config } from "../config";
import { liveArticles, rankSentencesByText } from "../db/knowledge";
import { findModelVersion, latestLmGateReport, markModelFailed, productionDeployment, saveLmGateReport } from "../db/ml";
import { findRun } from "../db/runs";
import { decideReply, retrieveFacts, sourcesOf, writeReply, type Knowledge } from "../chat/compose";
import { templateReply, TEMPLATE_REPLIES } from "../chat/decide";
import { buildIndex } from "../knowledge/retrieve";
import { loadClassifier, type Classifier } from "../models/classifier";
import { loadEncoder } from "../models/encoder";
import { GenerationStopper, type ChatTurn, type LanguageModel } from "../models/lm";
import { loadLanguageModel } from "../models/lm-process";
import { modelStorePath } from "../models/store";
import type { JudgedReply, LmGateReportView, LmGateVerdict, ReplyBenchFigures } from "../protocol/ml";
import { benchFigures, judge, type BenchQuestion, type KnowledgeArticle, type ObservedReply, type Verdict } from "../reply-bench/judge";
import { DEFAULT_QUESTIONS_FILE, loadKnowledgeBase, loadQuestions } from "../reply-bench/questions";

/** The benchmark's question set as frozen in a candidate LM's folder at registration. */
export const FROZEN_QUESTIONS_FILE = "reply-bench-questions.json";

/** Freezes the reply benchmark's current question set into a new LM version's folder. */
export async function freezeQuestions(versionDir: string): Promise<void> {
  await copyFile(DEFAULT_QUESTIONS_FILE, path.join(versionDir, FROZEN_QUESTIONS_FILE));
}

export interface LmSide {
  version: string;
  bench: ReplyBenchFigures;
  holdoutPerplexity: number | null;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * The gate's rules: the candidate may not pass a smaller share of the questions than production, nor
 * make more contradictions, invented terms or repetitive replies (counts of replies). Perplexity is
 * reported beside them, not gated: a lower loss on the snapshot's answers says nothing about what the
 * checked serving path lets through.
 */
export function lmGateVerdict(
  candidate: LmSide,
  production: LmSide,
  about: { questions: number; questionsSha256: string; holdoutExamples: number },
): LmGateVerdict {
  const reasons: string[] = [];
  const [c, p] = [candidate.bench, production.bench];
  if (c.pass < p.pass) reasons.push(`passes fewer questions: ${pct(p.pass)} → ${pct(c.pass)}`);
  for (const [key, label] of [
    ["contradictions", "contradictions"],
    ["invented", "replies with invented terms"],
    ["repetitive", "repetitive replies"],
  ] as const) {
    if (c[key] > p[key]) reasons.push(`more ${label}: ${p[key]} → ${c[key]}`);
  }
  return { pass: reasons.length === 0, reasons, candidate, production, ...about };
}

interface AskedQuestion {
  question: BenchQuestion;
  reply: ObservedReply;
  verdict: Verdict;
}

/** The models a reply needs besides the language model, as a server has them. */
interface ReplyModels {
  classifier: Classifier;
  knowledge: Knowledge;
}

/**
 * Asks each question as a customer's first message of a new conversation, through the serving path's
 * steps with `lm` writing the answers, and judges every reply.
 */
export async function askQuestions(
  lm: LanguageModel,
  models: ReplyModels,
  questions: BenchQuestion[],
  articles: KnowledgeArticle[],
  onAnswered?: (done: number) => void,
): Promise<AskedQuestion[]> {
  const asked: AskedQuestion[] = [];
  for (const question of questions) {
    const reply = await replyTo(lm, models, question.text);
    asked.push({ question, reply, verdict: judge(question, reply, articles) });
    onAnswered?.(asked.length);
  }
  return asked;
}

async function replyTo(lm: LanguageModel, { classifier, knowledge }: ReplyModels, text: string): Promise<ObservedReply> {
  const decision = await decideReply(knowledge, text, await classifier.classify(text), 0);
  if (decision.action !== "answer") {
    return { text: templateReply(decision), handedOff: decision.action === "handoff", clarified: decision.action === "clarify", sources: [] };
  }
  const facts = await retrieveFacts(knowledge, text, decision.intent, "reply");
  if (facts.length === 0) return { text: TEMPLATE_REPLIES.no_facts, handedOff: false, clarified: false, sources: [] };
  const reply = await writeReply({
    lm,
    encoder: knowledge.encoder,
    question: text,
    facts,
    history: [{ role: "customer", text }],
    stopper: new GenerationStopper(),
    emit: () => {},
  });
  return { text: reply.text, handedOff: false, clarified: false, sources: sourcesOf(reply.check) };
}

const snapshotRowSchema = z.object({
  split: z.enum(["train", "holdout"]),
  messages: z.array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() })).min(2),
});

/** The holdout rows of an LM snapshot (`dataset export --kind lm`): the prompt turns and the answer. */
export async function readLmHoldout(snapshotPath: string): Promise<{ turns: ChatTurn[]; answer: string }[]> {
  const lines = (await readFile(snapshotPath, "utf8")).split("\n").filter((l) => l.trim() !== "");
  return lines.flatMap((line, i) => {
    const row = snapshotRowSchema.safeParse(JSON.parse(line));
    if (!row.success) throw new Error(`${snapshotPath} line ${i + 1} is not an LM snapshot row: ${z.prettifyError(row.error)}`);
    const last = row.data.messages.at(-1)!;
    if (row.data.split !== "holdout" || last.role !== "assistant") return [];
    return [{ turns: row.data.messages.slice(0, -1), answer: last.content }];
  });
}

/** exp(mean negative log-likelihood per answer token) over the rows: the trainer's held-out perplexity. */
export async function heldOutPerplexity(lm: LanguageModel, rows: { turns: ChatTurn[]; answer: string }[]): Promise<number | null> {
  let nll = 0;
  let tokens = 0;
  for (const row of rows) {
    const r = await lm.answerLoss(row.turns, row.answer);
    nll += r.nll;
    tokens += r.tokens;
  }
  return tokens === 0 ? null : Math.exp(nll / tokens);
}

function judged(a: AskedQuestion): JudgedReply {
  const v = a.verdict;
  return {
    text: a.reply.text,
    pass: v.pass,
    facts: v.facts,
    contradictions: v.contradictions,
    invented: v.invented,
    repetitive: v.repetitive,
    cutOff: v.cutOff,
    abstained: v.abstained,
    reasons: v.reasons,
  };
}

export class LmGateError extends Error {}

/**
 * Runs the gate on a candidate LM against production and stores the report. `questionLimit` and
 * `holdoutLimit` (tests only) take the first N questions of the frozen set and the first N held-out
 * examples; the default is all of both.
 */
export async function runLmGate(opts: {
  version: string;
  actor: string;
  questionLimit?: number;
  holdoutLimit?: number;
  /** Return the stored verdict of an identical gate run at most this old instead of running it again. */
  reuseWithinMs?: number;
  onProgress?: (message: string) => void;
}): Promise<{ verdict: LmGateVerdict; reportId: string }> {
  const progress = opts.onProgress ?? (() => {});
  const candidate = await findModelVersion(opts.version);
  if (!candidate || candidate.kind !== "lm") throw new LmGateError(`no language model version ${opts.version}`);
  const current = await productionDeployment("lm");
  if (!current) throw new LmGateError("no language model is in production yet: start the server once to deploy the stock model");

  const candidateDir = modelStorePath(candidate.path);
  const frozen = path.join(candidateDir, FROZEN_QUESTIONS_FILE);
  const questionsJson = await readFile(frozen).catch(() => null);
  if (!questionsJson) throw new LmGateError(`${candidate.version} has no frozen question set (${frozen})`);
  const articles = loadKnowledgeBase();
  const allQuestions = loadQuestions(frozen, articles);
  const questions = opts.questionLimit === undefined ? allQuestions : allQuestions.slice(0, opts.questionLimit);
  const questionsSha256 = createHash("sha256").update(questionsJson).digest("hex");

  const run = candidate.trainingRunId ? await findRun(candidate.trainingRunId) : null;
  const holdout = (run ? await readLmHoldout(run.snapshotPath).catch(() => []) : []).slice(0, opts.holdoutLimit);

  // A gate run of this candidate against this production version on the same questions, recent enough,
  // is the answer: asking both models again would take minutes to say the same (e.g. a forced
  // promotion right after a refused one, or "promote" after "run the gate" in the console).
  if (opts.reuseWithinMs !== undefined) {
    const recent = await latestLmGateReport(candidate.version);
    const v = recent?.verdict as LmGateVerdict | undefined;
    if (
      recent &&
      v &&
      recent.production === current.version &&
      Date.now() - recent.createdAt.getTime() < opts.reuseWithinMs &&
      v.questionsSha256 === questionsSha256 &&
      v.questions === questions.length &&
      v.holdoutExamples === holdout.length
    ) {
      progress(`reusing the gate run of ${recent.createdAt.toISOString()}`);
      return { verdict: v, reportId: recent.id };
    }
  }

  let candidateLm: LanguageModel;
  try {
    candidateLm = await loadLanguageModel(candidateDir);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    await markModelFailed(candidate.version, reason);
    throw new LmGateError(`${candidate.version} cannot be loaded or failed its smoke test, and was marked failed: ${reason}`);
  }
  const productionLm = await loadLanguageModel(modelStorePath(current.model.path));
  try {
    const production = await productionDeployment("classifier");
    if (!production) throw new LmGateError("no classifier is in production yet: start the server once to deploy the seed classifier");
    const encoder = await loadEncoder(config().LOOPDESK_MODELS_DIR);
    const models: ReplyModels = {
      classifier: await loadClassifier(modelStorePath(production.model.path), production.model.version),
      knowledge: { encoder, index: await buildIndex(await liveArticles(), encoder), textRank: rankSentencesByText },
    };
    const side = async (name: string, lm: LanguageModel) => {
      const asked = await askQuestions(lm, models, questions, articles, (n) => {
        if (n % 10 === 0 || n === questions.length) progress(`${name} ${lm.version}: ${n}/${questions.length} questions`);
      });
      const holdoutPerplexity = await heldOutPerplexity(lm, holdout);
      return { asked, side: { version: lm.version, bench: benchFigures(asked.map((a) => a.verdict)), holdoutPerplexity } };
    };
    const p = await side("production", productionLm);
    const c = await side("candidate", candidateLm);
    const verdict = lmGateVerdict(c.side, p.side, { questions: questions.length, questionsSha256, holdoutExamples: holdout.length });
    const replies: LmGateReportView["replies"] = questions.map((q, i) => ({
      id: q.id,
      text: q.text,
      intent: q.intent,
      expect: q.expect,
      production: judged(p.asked[i]!),
      candidate: judged(c.asked[i]!),
    }));
    const report = await saveLmGateReport({ candidate: candidate.version, production: current.version, questionsSha256, verdict, replies, createdBy: opts.actor });
    return { verdict, reportId: report.id };
  } finally {
    await Promise.all([candidateLm.dispose(), productionLm.dispose()]);
  }
}
