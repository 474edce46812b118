/**
 * A language-model training example: the facts a reply is grounded in, the conversation before the
 * customer's message, the message, and the right answer. Validated where it enters (seed file, staff
 * labelling), never silently dropped at training time; rendered into exactly the chat turns serving
 * sends the model (lib/chat/prompt.ts buildPrompt) plus the answer.
 */
import { z } from "zod";
import type { ChatTurn } from "../models/lm";
import { buildPrompt, SPECIAL_TOKENS, type HistoryMessage } from "../chat/prompt";
import { MAX_FACT_CHARS } from "../sentences";
import { redactPersonalData } from "./redact";

/** An answer longer than this is not the short reply the model should learn. */
export const LM_ANSWER_MAX_CHARS = 600;
/** Prompt plus answer must fit the trainer's default --max-len (training/train_lm.py) in LM tokens. */
export const LM_MAX_TOKENS = 512;
/** A reply is grounded in at most this many fact sentences (lib/knowledge/retrieve.ts gives at most 3). */
export const LM_MAX_FACTS = 3;

export interface LmExampleInput {
  facts: string[];
  /** The conversation before the customer's message, oldest first. */
  history: HistoryMessage[];
  question: string;
  answer: string;
}

export interface LmExampleProblem {
  field: "facts" | "history" | "question" | "answer";
  message: string;
}

/** What renders and measures an example: the LM tokenizer and the chat turn's history budget. */
export interface LmRenderer {
  /** Tokens of a text, as lib/models/lm.ts countTokens (buildPrompt's history budget). */
  countTokens(text: string): number;
  /** Tokens of whole chat turns under the model's chat template (what the trainer sees). */
  countChatTokens(turns: ChatTurn[]): number;
  historyTokens: number;
}

// C0/C1 control characters except tab, newline and carriage return.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

function textProblem(text: string): string | null {
  if (CONTROL.test(text)) return "contains a control character";
  // The first one in the text, as a reader would find it.
  const [token] = SPECIAL_TOKENS.filter((t) => text.includes(t)).sort((a, b) => text.indexOf(a) - text.indexOf(b));
  if (token) return `contains the chat-template token ${token}`;
  return null;
}

/** The chat turns serving sends the model for this example's customer message. */
export function renderPrompt(example: Omit<LmExampleInput, "answer">, renderer: LmRenderer): ChatTurn[] {
  return buildPrompt({
    history: [...example.history, { role: "customer", text: example.question }],
    facts: example.facts,
    countTokens: renderer.countTokens,
    historyTokens: renderer.historyTokens,
  });
}

/** The prompt and the answer as the trainer's `messages`. */
export function renderMessages(example: LmExampleInput, renderer: LmRenderer): ChatTurn[] {
  return [...renderPrompt(example, renderer), { role: "assistant", content: example.answer }];
}

/** Every problem of an example, each one line naming the field; empty when it may be trained on. */
export function lmExampleProblems(example: LmExampleInput, renderer: LmRenderer): LmExampleProblem[] {
  const problems: LmExampleProblem[] = [];
  const answer = example.answer.trim();
  if (answer === "") problems.push({ field: "answer", message: "the answer is empty" });
  if (answer.length > LM_ANSWER_MAX_CHARS) problems.push({ field: "answer", message: `the answer is ${answer.length} characters; at most ${LM_ANSWER_MAX_CHARS}` });
  const answerText = textProblem(example.answer);
  if (answerText) problems.push({ field: "answer", message: `the answer ${answerText}` });
  if (example.question.trim() === "") problems.push({ field: "question", message: "the customer message is empty" });
  const questionText = textProblem(example.question);
  if (questionText) problems.push({ field: "question", message: `the customer message ${questionText}` });
  if (example.facts.length === 0) problems.push({ field: "facts", message: "no facts: an answer must be grounded in at least one help-centre sentence" });
  if (example.facts.length > LM_MAX_FACTS) problems.push({ field: "facts", message: `${example.facts.length} facts; at most ${LM_MAX_FACTS}` });
  example.facts.forEach((fact, i) => {
    if (fact.trim() === "") problems.push({ field: "facts", message: `fact ${i + 1} is empty` });
    if (fact.length > MAX_FACT_CHARS) problems.push({ field: "facts", message: `fact ${i + 1} is longer than ${MAX_FACT_CHARS} characters` });
    const factText = textProblem(fact);
    if (factText) problems.push({ field: "facts", message: `fact ${i + 1} ${factText}` });
  });
  example.history.forEach((m, i) => {
    const historyText = textProblem(m.text);
    if (historyText) problems.push({ field: "history", message: `earlier message ${i + 1} ${historyText}` });
  });
  if (problems.length === 0) {
    const tokens = renderer.countChatTokens(renderMessages({ ...example, answer }, renderer));
    if (tokens > LM_MAX_TOKENS) problems.push({ field: "answer", message: `prompt and answer are ${tokens} tokens; the training context holds ${LM_MAX_TOKENS}` });
  }
  return problems;
}

/** One line for a CLI or an API error: the problems joined. */
export function describeProblems(problems: LmExampleProblem[]): string {
  return problems.map((p) => p.message).join("; ");
}

export const historyMessageSchema = z.object({ role: z.enum(["customer", "bot", "agent", "system"]), text: z.string() });

/** A line of training/data/lm_seed.jsonl. */
export const lmSeedRowSchema = z.strictObject({
  intent: z.string().min(1),
  facts: z.array(z.string()).min(1).max(LM_MAX_FACTS),
  question: z.string(),
  answer: z.string(),
});
export type LmSeedRow = z.infer<typeof lmSeedRowSchema>;

const storedSchema = z.object({ facts: z.array(z.string()), history: z.array(historyMessageSchema), question: z.string(), answer: z.string() });

/** An example read back from the database's JSON columns, checked to have the stored shape. */
export function storedExample(row: { facts: unknown; history: unknown; question: string; answer: string }): LmExampleInput {
  const { facts, history, question, answer } = storedSchema.parse(row);
  return { facts, history, question, answer };
}

/**
 * The example with personal data replaced by placeholders in everything a conversation wrote (the
 * history, the customer's question, the answer); the facts are help-centre text and stay.
 */
export function withoutPersonalData(example: LmExampleInput): LmExampleInput {
  return {
    facts: example.facts,
    history: example.history.map((m) => ({ role: m.role, text: redactPersonalData(m.text) })),
    question: redactPersonalData(example.question),
    answer: redactPersonalData(example.answer),
  };
}
