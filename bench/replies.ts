/**
 * `npm run bench:replies`: are the bot's replies right? Asks every question of a question set
 * (bench/replies/questions.json, or --questions FILE in the same format) of a real server over the
 * public /chat protocol, each as a new customer in a new conversation, one at a time, and judges each
 * reply (lib/reply-bench/judge.ts, shared with the LM gate) against the knowledge base (training/data/knowledge_base.json).
 *
 * The server runs on a throw-away database (bench/server-under-test.ts) with the per-address limits
 * raised. Per question it prints the question, the reply and the verdict with its reasons; --out FILE
 * writes them as JSON. The last line:
 *
 *   RESULT replies=N pass=0.xx facts=0.xx contradictions=N invented=N repetitive=N cut_off=N abstained=N ttft_p50_ms=N total_p50_ms=N
 *
 * pass and facts are fractions of the replies, the others counts of replies; ttft is send → first
 * chat:token, total send → chat:done.
 *
 * Options: --questions FILE, --only ID,ID, --models-dir DIR (a model store to serve as it is),
 * --max-new-tokens N (default: the server's), --out FILE. --rejudge FILE judges the replies of an
 * earlier run's --out file again, without a server (after a fix to a question or to the judge).
 */
import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { z } from "zod";
import { connectCustomer } from "../tests/helpers/chat-client";
import { benchFigures, type BenchQuestion, judge, type KnowledgeArticle, type ObservedReply, type ReportedSource, type Verdict } from "../lib/reply-bench/judge";
import { DEFAULT_QUESTIONS_FILE, loadKnowledgeBase, loadQuestions } from "../lib/reply-bench/questions";
import { pct, type ServerUnderTest, startServerUnderTest } from "./server-under-test";

const { values: args } = parseArgs({
  options: {
    questions: { type: "string", default: DEFAULT_QUESTIONS_FILE },
    only: { type: "string" },
    "models-dir": { type: "string" },
    "max-new-tokens": { type: "string" },
    out: { type: "string" },
    rejudge: { type: "string" },
  },
});
/** A reply that has not finished by then counts as no reply. */
const REPLY_TIMEOUT_MS = 180_000;

interface Asked {
  question: BenchQuestion;
  reply: ObservedReply;
  /** A chat:error or a refused send, instead of a reply. */
  error?: string;
  ttftMs?: number;
  totalMs?: number;
  verdict: Verdict;
}

/** The optional fields a newer server adds to `chat:done`; today's server sends neither. */
interface DoneExtras {
  sources?: unknown;
  clarify?: unknown;
}

/** Asks one question as a new customer and waits for the whole reply, and for a handoff it causes. */
async function ask(url: string, question: BenchQuestion, articles: KnowledgeArticle[]): Promise<Asked> {
  const { socket } = await connectCustomer(url);
  const sentAt = performance.now();
  let ttftMs: number | undefined;
  let handedOff = false;
  // A new customer's socket carries only this conversation's events.
  socket.on("chat:token", () => (ttftMs ??= performance.now() - sentAt));
  socket.on("chat:status", ({ status }) => (handedOff ||= status === "waiting_for_agent"));
  try {
    const finished = new Promise<{ text: string; extras: DoneExtras } | { error: string }>((resolve) => {
      const timer = setTimeout(() => resolve({ error: `no reply within ${REPLY_TIMEOUT_MS / 1000} s` }), REPLY_TIMEOUT_MS);
      socket.on("chat:done", (p) => {
        clearTimeout(timer);
        resolve({ text: p.text, extras: p as DoneExtras });
      });
      socket.on("chat:error", (e) => {
        clearTimeout(timer);
        resolve({ error: `${e.code}: ${e.message}` });
      });
    });
    const ack = await socket.emitWithAck("chat:send", { clientMessageId: randomUUID(), text: question.text });
    const outcome = ack.ok ? await finished : { error: `send refused: ${ack.error.code}` };
    const totalMs = performance.now() - sentAt;
    let reply: ObservedReply = { text: "", handedOff, clarified: false };
    if (ack.ok && !("error" in outcome)) {
      // The server emits a handoff's chat:status right after chat:done; the history's answer comes
      // after it on this socket, and says the conversation's status in any case.
      const history = await socket.emitWithAck("chat:history", { conversationId: ack.conversationId });
      reply = {
        text: outcome.text,
        handedOff: handedOff || (history.ok && history.status === "waiting_for_agent"),
        clarified: Array.isArray(outcome.extras.clarify) ? outcome.extras.clarify.length > 0 : Boolean(outcome.extras.clarify),
        sources: reportedSources(outcome.extras.sources),
      };
    }
    return withError({ question, reply, ttftMs, totalMs, verdict: judge(question, reply, articles) }, "error" in outcome ? outcome.error : undefined);
  } finally {
    socket.disconnect();
  }
}

/** The `sources` of a `chat:done`, if it carries any: titles and slugs. */
function reportedSources(sources: unknown): ReportedSource[] | undefined {
  if (!Array.isArray(sources)) return undefined;
  return sources.flatMap((s: { title?: unknown; slug?: unknown }) =>
    typeof s === "object" && s !== null
      ? [{ title: typeof s.title === "string" ? s.title : undefined, slug: typeof s.slug === "string" ? s.slug : undefined }]
      : [],
  );
}

function printAsked(a: Asked, i: number, n: number): void {
  const ms = (x: number | undefined) => (x === undefined ? "-" : `${Math.round(x)} ms`);
  console.log(`\n[${i + 1}/${n}] ${a.question.id} (${a.question.intent}, expect ${a.question.expect})`);
  console.log(`  Q: ${a.question.text}`);
  console.log(`  A: ${a.reply.text.replace(/\s*\n\s*/g, " ⏎ ")}${a.reply.handedOff ? "  [handed off]" : ""}`);
  console.log(`  ${a.verdict.pass ? "PASS" : `FAIL: ${a.verdict.reasons.join("; ")}`}  (ttft ${ms(a.ttftMs)}, total ${ms(a.totalMs)})`);
}

/** An earlier run's --out file, as far as --rejudge reads it. */
const previousRunSchema = z.object({
  replies: z.array(
    z.object({
      id: z.string(),
      reply: z.string(),
      handedOff: z.boolean(),
      clarified: z.boolean(),
      sources: z.array(z.object({ title: z.string().optional(), slug: z.string().optional() })).nullable(),
      error: z.string().nullable(),
      ttftMs: z.number().nullable(),
      totalMs: z.number().nullable(),
    }),
  ),
});

/** Judges the stored replies of an earlier run again, question by question. */
function rejudge(file: string, questions: BenchQuestion[], articles: KnowledgeArticle[]): Asked[] {
  const previous = new Map(previousRunSchema.parse(JSON.parse(readFileSync(file, "utf8"))).replies.map((r) => [r.id, r]));
  return questions.map((question) => {
    const r = previous.get(question.id);
    if (!r) throw new Error(`--rejudge: ${file} has no reply to ${question.id}`);
    const reply = { text: r.reply, handedOff: r.handedOff, clarified: r.clarified, sources: r.sources ?? undefined };
    return withError({ question, reply, ttftMs: r.ttftMs ?? undefined, totalMs: r.totalMs ?? undefined, verdict: judge(question, reply, articles) }, r.error ?? undefined);
  });
}

/** A question that got no reply fails, whatever the judge made of the empty reply. */
function withError(a: Asked, error: string | undefined): Asked {
  if (error === undefined) return a;
  return { ...a, error, verdict: { ...a.verdict, pass: false, reasons: [error, ...a.verdict.reasons] } };
}

async function main() {
  const articles = loadKnowledgeBase();
  let questions = loadQuestions(args.questions, articles);
  if (args.only) {
    const ids = new Set(args.only.split(",").map((s) => s.trim()));
    const unknown = [...ids].filter((id) => !questions.some((q) => q.id === id));
    if (unknown.length > 0) throw new Error(`--only: no question with id ${unknown.join(", ")}`);
    questions = questions.filter((q) => ids.has(q.id));
  }
  const maxNewTokens = args["max-new-tokens"];
  if (maxNewTokens !== undefined && !(Number.isInteger(Number(maxNewTokens)) && Number(maxNewTokens) > 0))
    throw new Error("--max-new-tokens must be a positive whole number");

  if (args.rejudge) {
    const asked = rejudge(args.rejudge, questions, articles);
    asked.forEach((a, i) => printAsked(a, i, asked.length));
    return report(asked);
  }
  let underTest: ServerUnderTest | undefined;
  try {
    underTest = await startServerUnderTest(
      "replies",
      {
        // Every question is a new customer from 127.0.0.1: the per-address limits are raised, not switched off.
        RATE_LIMIT_CONNECTIONS_PER_IP: String(questions.length + 100),
        RATE_LIMIT_MESSAGES_PER_IP: "1000000",
        // The model's replies are what is judged, never facts quoted because the machine was busy.
        LM_DEGRADE_WAIT_MS: "0",
        ...(maxNewTokens ? { LM_MAX_NEW_TOKENS: maxNewTokens } : {}),
      },
      args["models-dir"],
    );
    console.log(`server ${underTest.server.url}; ${questions.length} questions from ${args.questions}; LM_MAX_NEW_TOKENS=${maxNewTokens ?? "server default"}`);

    const asked: Asked[] = [];
    for (const [i, question] of questions.entries()) {
      const a = await ask(underTest.server.url, question, articles);
      asked.push(a);
      printAsked(a, i, questions.length);
    }
    const errors = asked.filter((a) => a.error !== undefined).length;
    if (errors > 0) console.log(`\n${errors} questions got no reply; server log (last errors):\n${underTest.server.output().split("\n").filter((l) => /"level":(50|60)/.test(l)).slice(-5).join("\n")}`);
    report(asked);
  } finally {
    await underTest?.close();
  }
}

/** Writes --out and prints the RESULT line. */
function report(asked: Asked[]): void {
  const ms = (xs: (number | undefined)[]) => {
    const p = pct(xs.filter((x) => x !== undefined), 50);
    return Number.isFinite(p) ? Math.round(p) : "nan";
  };
  const f = benchFigures(asked.map((a) => a.verdict));
  const result = {
    replies: f.replies,
    pass: f.pass.toFixed(2),
    facts: f.facts.toFixed(2),
    contradictions: f.contradictions,
    invented: f.invented,
    repetitive: f.repetitive,
    cut_off: f.cutOff,
    abstained: f.abstained,
    ttft_p50_ms: ms(asked.map((a) => a.ttftMs)),
    total_p50_ms: ms(asked.map((a) => a.totalMs)),
  };
  if (args.out) {
    const replies = asked.map((a) => ({
      id: a.question.id,
      intent: a.question.intent,
      expect: a.question.expect,
      question: a.question.text,
      reply: a.reply.text,
      handedOff: a.reply.handedOff,
      clarified: a.reply.clarified,
      sources: a.reply.sources ?? null,
      error: a.error ?? null,
      ttftMs: a.ttftMs ?? null,
      totalMs: a.totalMs ?? null,
      verdict: a.verdict,
    }));
    writeFileSync(args.out, `${JSON.stringify({ result, replies }, null, 2)}\n`);
  }
  console.log(`\nRESULT ${Object.entries(result).map(([k, v]) => `${k}=${v}`).join(" ")}`);
}

await main();
process.exit(0);
