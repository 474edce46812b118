/**
 * The reply benchmark's question set and the knowledge base it is judged against: loaded from JSON and
 * validated with zod, so a mistake in a question file (a bad regex, an unknown intent) is named clearly.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { OUT_OF_SCOPE, SMALL_TALK } from "../chat/decide";
import type { BenchQuestion, KnowledgeArticle } from "./judge";

// From the project root (as the server, the CLI, the benchmarks and the tests run): the bundled server has no import.meta.dirname.
export const DEFAULT_QUESTIONS_FILE = path.resolve(/* turbopackIgnore: true */ process.cwd(), "bench/replies/questions.json");
export const KNOWLEDGE_BASE_FILE = path.resolve(/* turbopackIgnore: true */ process.cwd(), "training/data/knowledge_base.json");

const pattern = z.string().refine(
  (s) => {
    try {
      new RegExp(s, "iu");
      return true;
    } catch {
      return false;
    }
  },
  { message: "not a valid regular expression" },
);

const questionSchema = z.object({
  id: z.string().min(1),
  text: z.string().min(1),
  intent: z.string().min(1),
  expect: z.enum(["answer", "abstain", "handoff"]),
  facts: z.array(z.array(pattern).min(1)).default([]),
  forbidden: z.array(pattern).default([]),
});

export function loadKnowledgeBase(file = KNOWLEDGE_BASE_FILE): KnowledgeArticle[] {
  return z.array(z.object({ intent: z.string(), title: z.string(), body: z.string() })).parse(JSON.parse(readFileSync(file, "utf8")));
}

/** Parses a question file; throws an error naming every problem (with the question's index) if it is invalid. */
export function parseQuestions(json: unknown, articles: KnowledgeArticle[]): BenchQuestion[] {
  // Small talk and out-of-scope messages have no article: the bot answers them with fixed replies.
  const intents = new Set([...articles.map((a) => a.intent), ...SMALL_TALK, OUT_OF_SCOPE]);
  const schema = z.array(questionSchema).superRefine((questions, ctx) => {
    const seen = new Set<string>();
    questions.forEach((q, i) => {
      if (seen.has(q.id)) ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicate id ${q.id}` });
      seen.add(q.id);
      if (!intents.has(q.intent)) ctx.addIssue({ code: "custom", path: [i, "intent"], message: `unknown intent "${q.intent}"` });
    });
  });
  const r = schema.safeParse(json);
  if (!r.success) throw new Error(`invalid question set:\n${z.prettifyError(r.error)}`);
  return r.data;
}

export function loadQuestions(file: string, articles: KnowledgeArticle[]): BenchQuestion[] {
  return parseQuestions(JSON.parse(readFileSync(file, "utf8")), articles);
}
