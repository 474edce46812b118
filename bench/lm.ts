/**
 * `npm run bench:lm`: the language model as customers get it (through the running server, socket.io,
 * the queue and Postgres) against a bare onnxruntime-node greedy loop over the same ONNX file, and
 * against llama.cpp (node-llama-cpp, 2 threads) on the GGUF the store's model was converted from: the
 * speed a user could have instead. Prints TTFT, decode tokens/s for one stream, and total tokens/s
 * and TTFT with 1, 4 and 8 concurrent chats (the server decodes up to LM_BATCH_SIZE replies in one
 * batch; the bare loop runs each stream on its own).
 *
 * All sides run the same questions with the same prompt token ids (buildPrompt with the facts the
 * server retrieved for the reply, the chat template applied by transformers.js) and greedy decoding.
 * The server checks each sentence before sending it and stops the model at the first that fails
 * (lib/chat/grounded-reply.ts), so its replies are the bare loop's cut short or replaced by quoted
 * facts; the run says how many match. The bare loop produces at most BENCH_MAX_NEW_TOKENS tokens,
 * llama.cpp exactly as many as the bare loop did on the same prompt. Definitions (bench/lm/figures.ts):
 *   - TTFT: from sending (served: chat:send on a connected socket) to the first visible text
 *     (served: the first chat:token at the client, i.e. the first checked sentence; bare and
 *     llama.cpp: the first token out of the model);
 *   - model TTFT: from the model's start to its first token (served: the server's own figure, so
 *     without classification, retrieval, queueing and checking);
 *   - tokens: tokens the model produced, the end-of-sequence token included (served: the stored
 *     tokenCount);
 *   - decode tok/s of a stream: the tokens after the first over the time from the first token to the
 *     last (served: the server's own figures for the reply, timeToFirstTokenMs and generationMs, as
 *     the client sees checked sentences, not tokens);
 *   - total tok/s: all tokens of a level over its wall time;
 *   - overhead and vs_llamacpp: medians of per-question ratios of decode tok/s (bare ÷ served, i.e.
 *     served time per token over bare; served ÷ llama.cpp), each from streams of the same question run
 *     one right after the other.
 * At concurrency 1 the three sides take turns question by question, so load from other work on a
 * shared machine weighs on all alike. Last, the server's batched decoder (lib/models/decoder.ts) runs
 * the same prompts on its own, one at a time and 4 and 8 at once, to full length (the served replies
 * are cut short by the check): batch_gain is its total tok/s with 8 at once over one at a time, and
 * batch_same_text counts the replies of 8 at once identical to its replies one at a time.
 */
import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { randomUUID } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { AutoTokenizer, env, type PreTrainedTokenizer } from "@huggingface/transformers";
import { connectCustomer } from "../tests/helpers/chat-client";
import type { ReplyGrounding } from "../lib/protocol/chat";
import { createDatabase } from "../tests/helpers/postgres";
import { startServer } from "../tests/helpers/server";
import { buildPrompt } from "../lib/chat/prompt";
import { BatchedDecoder } from "../lib/models/decoder";
import { LM_MODEL_FILE } from "../lib/models/lm";
import { bareGreedy, promptIds } from "./lm/bare";
import { medianDecodeTokS, pairedDecodeRatio, pct, type Stream } from "./lm/figures";
import { llamaCppRunner, storeGguf } from "./lm/llamacpp";

const MAX_NEW_TOKENS = Number(process.env.BENCH_MAX_NEW_TOKENS ?? 64);
/**
 * Streams per concurrency level (times BENCH_ROUNDS): c=1 asks every question once, one at a time
 * (the bare loop's replies are checked against these), c=4 one round, c=8 every question at once.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const STREAMS: Record<number, number> = { 1: 8, 4: 4, 8: 8 };
const LM_BATCH_SIZE = Number(process.env.LM_BATCH_SIZE ?? 2);
const HISTORY_TOKENS = Number(process.env.LM_HISTORY_TOKENS ?? 768);
const LLAMACPP_THREADS = 2;
const STREAM_TIMEOUT_MS = 180_000;
// In-scope questions only (all classified well above the threshold by the seed classifier):
// out-of-scope or unsure ones get a fixed template reply, not the model, and the run fails on one.
const QUESTIONS = [
  "Hi, where is my order NW-482913? It was supposed to arrive yesterday.",
  "How do I return a kettle that I bought two weeks ago?",
  "Do you ship to Canada and how much does express shipping cost?",
  "My card was charged twice for the same order, what should I do?",
  "Can I change the size of the jacket in my order before it ships?",
  "What is the warranty on your coffee grinders?",
  "I forgot my password and the reset email never arrives.",
  "Can I add a discount code after I have placed my order?",
];
const MODELS_DIR = path.resolve(process.env.LOOPDESK_MODELS_DIR ?? "models");
const MODEL_DIR = path.join(MODELS_DIR, "lm", "smollm2-135m-instruct");
const PYTHON = process.env.LOOPDESK_PYTHON ?? path.resolve(".venv", "bin", "python");

interface Level {
  streams: Stream[];
  totalTokS: number;
}

/** Runs STREAMS[concurrency] × ROUNDS streams over the questions, `concurrency` at once. */
async function measure(concurrency: number, one: (q: string) => Promise<Stream>): Promise<Level> {
  const queue = Array.from({ length: STREAMS[concurrency]! * ROUNDS }, (_, i) => QUESTIONS[i % QUESTIONS.length]!);
  const streams: Stream[] = [];
  const started = performance.now();
  for (let i = 0; i < queue.length; i += concurrency) {
    streams.push(...(await Promise.all(queue.slice(i, i + concurrency).map(one))));
  }
  const tokens = streams.reduce((n, s) => n + s.tokens, 0);
  return { streams, totalTokS: tokens / ((performance.now() - started) / 1000) };
}

// --- served: a real customer socket per chat, against the real server ------------------------
interface ServedReply {
  intent: string | null;
  text: string;
  /** The fact sentences the server grounded the reply in (its prompt's facts). */
  facts: string[];
}

async function servedStream(serverUrl: string, db: pg.Pool, question: string, seen: Map<string, ServedReply>): Promise<Stream> {
  const { socket } = await connectCustomer(serverUrl);
  try {
    let first = 0;
    socket.on("chat:token", () => (first ||= performance.now()));
    const done = new Promise<{ messageId: string; text: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply within ${STREAM_TIMEOUT_MS} ms: ${question}`)), STREAM_TIMEOUT_MS);
      socket.once("chat:done", (p) => (clearTimeout(timer), resolve(p)));
      socket.once("chat:error", (e) => (clearTimeout(timer), reject(new Error(`${e.code}: ${e.message} (${question})`))));
    });
    const sent = performance.now();
    const ack = await socket.emitWithAck("chat:send", { clientMessageId: randomUUID(), text: question });
    if (!ack.ok) throw new Error(ack.error.message);
    const { messageId, text } = await done;
    const end = performance.now();
    const { rows } = await db.query<{
      tokenCount: number | null;
      timeToFirstTokenMs: number | null;
      generationMs: number | null;
      modelVersion: string | null;
      intent: string | null;
      grounding: ReplyGrounding | null;
    }>(
      `SELECT r."tokenCount", r."timeToFirstTokenMs", r."generationMs", r."modelVersion", c.intent, r.grounding
         FROM "Message" r JOIN "Message" c ON c.id = r."replyToId" WHERE r.id = $1`,
      [messageId],
    );
    const row = rows[0];
    // A template reply (one piece, no model) would make every figure meaningless.
    if (!row || row.modelVersion === "template" || !row.tokenCount || row.timeToFirstTokenMs === null || row.generationMs === null || !first) {
      throw new Error(`not answered by the language model (intent ${row?.intent}): ${question}`);
    }
    seen.set(question, { intent: row.intent, text, facts: row.grounding?.check?.facts.map((f) => f.text) ?? [] });
    return {
      question,
      ttftMs: first - sent,
      modelTtftMs: row.timeToFirstTokenMs,
      tokens: row.tokenCount,
      decodeMs: row.generationMs - row.timeToFirstTokenMs,
      ms: end - sent,
      text,
    };
  } finally {
    socket.disconnect();
  }
}

// --- bare: onnxruntime-node greedy loop with the KV cache, same ONNX file ---------------------
async function bareRunner(tokenizer: PreTrainedTokenizer, prompts: Map<string, number[]>) {
  const model = await bareGreedy(MODEL_DIR);
  return async (question: string): Promise<Stream> => {
    const ids = prompts.get(question) ?? promptIds(tokenizer, buildPrompt({ history: [{ role: "customer", text: question }], countTokens: (t) => tokenizer.encode(t).length, historyTokens: HISTORY_TOKENS }));
    const run = await model.generate(ids, MAX_NEW_TOKENS);
    const text = tokenizer.decode(run.ids, { skip_special_tokens: true }).trim();
    const ms = run.ttftMs + run.decodeMs;
    return { question, ttftMs: run.ttftMs, modelTtftMs: run.ttftMs, tokens: run.ids.length, decodeMs: run.decodeMs, ms, text };
  };
}

// --- the server's decoder alone (lib/models/decoder.ts): streams running at once share each step ---
async function decoderRunner(prompts: Map<string, number[]>) {
  const decoder = await BatchedDecoder.open(MODEL_DIR, LM_MODEL_FILE);
  return async (question: string): Promise<Stream> => {
    const started = performance.now();
    let first = 0;
    const ids = await decoder.decode({ promptIds: prompts.get(question)!, maxNewTokens: MAX_NEW_TOKENS, shouldStop: () => false, onToken: () => (first ||= performance.now()) });
    const end = performance.now();
    const text = tokenizer.decode(ids, { skip_special_tokens: true }).trim();
    return { question, ttftMs: first - started, modelTtftMs: first - started, tokens: ids.length, decodeMs: end - first, ms: end - started, text };
  };
}

function report(label: string, r: Level) {
  const ttft = r.streams.map((s) => s.ttftMs);
  console.log(
    `${label.padEnd(22)} ttft p50 ${pct(ttft, 50).toFixed(0)} ms  p95 ${pct(ttft, 95).toFixed(0)} ms  ` +
      `model ttft p50 ${pct(r.streams.map((s) => s.modelTtftMs), 50).toFixed(0)} ms  ` +
      `decode p50 ${medianDecodeTokS(r.streams).toFixed(1)} tok/s  total ${r.totalTokS.toFixed(1)} tok/s  ` +
      `(${r.streams.length} streams, ${r.streams.reduce((n, s) => n + s.tokens, 0)} tokens)`,
  );
}

const benchStarted = performance.now();
env.allowRemoteModels = false;
env.localModelPath = `${path.dirname(MODEL_DIR)}/`;
const tokenizer = await AutoTokenizer.from_pretrained(path.basename(MODEL_DIR));
const countTokens = (t: string) => tokenizer.encode(t).length;

const database = await createDatabase("loopdesk_bench");
const results: Record<string, Level> = {};
const served = new Map<string, ServedReply>();
const prompts = new Map<string, number[]>();
const bare = await bareRunner(tokenizer, prompts);
const llamaCpp = await llamaCppRunner(await storeGguf(MODELS_DIR, MODEL_DIR, PYTHON), LLAMACPP_THREADS);
/** llama.cpp on the prompt the bare loop had, as many tokens as the bare loop produced. */
const llamaCppStream = async (bareStream: Stream): Promise<Stream> => {
  const ids = prompts.get(bareStream.question)!;
  // The GGUF's vocabulary is the tokenizer's (the store build takes it from the GGUF): check it is.
  const theirs = llamaCpp.detokenize(ids);
  const ours = tokenizer.decode(ids, { skip_special_tokens: false });
  if (theirs !== ours) throw new Error(`llama.cpp reads the prompt's token ids differently:\n${JSON.stringify(theirs)}\n${JSON.stringify(ours)}`);
  const run = await llamaCpp.generate(ids, bareStream.tokens);
  const text = tokenizer.decode(run.ids.slice(0, run.replyLength), { skip_special_tokens: true }).trim();
  const ms = run.ttftMs + run.decodeMs;
  return { question: bareStream.question, ttftMs: run.ttftMs, modelTtftMs: run.ttftMs, tokens: run.ids.length, decodeMs: run.decodeMs, ms, text };
};
try {
  execFileSync(process.execPath, ["--import", "tsx", "scripts/migrate.ts", "deploy"], { env: { ...process.env, DATABASE_URL: database.url }, stdio: "ignore" });
  const server = await startServer({
    DATABASE_URL: database.url,
    LM_MAX_NEW_TOKENS: String(MAX_NEW_TOKENS),
    LM_BATCH_SIZE: String(LM_BATCH_SIZE),
    // Throughput under concurrency is what is measured: no reply may be answered from its facts instead.
    LM_DEGRADE_WAIT_MS: "0",
    // Every chat comes from 127.0.0.1, 8 at once at c=8: the per-address abuse limits are raised, as in bench:load.
    PENDING_TURNS_PER_ADDRESS: "1000",
    RATE_LIMIT_CONNECTIONS_PER_IP: "1000",
    RATE_LIMIT_MESSAGES_PER_IP: "1000",
  });
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  const servedOne = (q: string) => servedStream(server.url, pool, q, served);
  // The bare loop and llama.cpp get the prompt the server built: the facts it retrieved for the reply.
  const learnPrompt = (question: string) => {
    const facts = served.get(question)?.facts ?? [];
    prompts.set(question, promptIds(tokenizer, buildPrompt({ history: [{ role: "customer", text: question }], countTokens, historyTokens: HISTORY_TOKENS, facts })));
  };
  try {
    console.log(
      `model ${MODEL_DIR} (int8; llama.cpp: the store's source GGUF, ${LLAMACPP_THREADS} threads), max new tokens ${MAX_NEW_TOKENS}, ${QUESTIONS.length} questions, ` +
        `streams per level c=1/4/8: ${[1, 4, 8].map((c) => STREAMS[c]! * ROUNDS).join("/")}, server LM_BATCH_SIZE=${LM_BATCH_SIZE}, ${availableParallelism()} CPUs`,
    );
    // Warm-up, not counted.
    await servedOne(QUESTIONS[0]!);
    learnPrompt(QUESTIONS[0]!);
    await llamaCppStream(await bare(QUESTIONS[0]!));
    // c=1, which every ratio compares: the three take turns, question by question, so a machine shared
    // with other work slows all alike. The idle server does nothing meanwhile.
    const sides = { s: [] as Stream[], b: [] as Stream[], l: [] as Stream[] };
    const ms = { s: 0, b: 0, l: 0 };
    const timed = async (side: keyof typeof sides, run: () => Promise<Stream>) => {
      const t = performance.now();
      const stream = await run();
      ms[side] += performance.now() - t;
      sides[side].push(stream);
      return stream;
    };
    for (let i = 0; i < STREAMS[1]! * ROUNDS; i++) {
      const q = QUESTIONS[i % QUESTIONS.length]!;
      await timed("s", () => servedOne(q));
      learnPrompt(q);
      const b = await timed("b", () => bare(q));
      await timed("l", () => llamaCppStream(b));
    }
    const level = (side: keyof typeof sides): Level => ({
      streams: sides[side],
      totalTokS: sides[side].reduce((n, x) => n + x.tokens, 0) / (ms[side] / 1000),
    });
    results.s1 = level("s");
    results.b1 = level("b");
    results.l1 = level("l");
    for (const c of [4, 8]) results[`s${c}`] = await measure(c, servedOne);
  } finally {
    await pool.end();
    await server.stop();
  }
} finally {
  await database.drop();
}
for (const c of [4, 8]) results[`b${c}`] = await measure(c, bare);
const decoded = await decoderRunner(prompts);
for (const c of [1, 4, 8]) results[`d${c}`] = await measure(c, decoded);
for (const c of [1, 4, 8]) report(`served c=${c}`, results[`s${c}`]!);
for (const c of [1, 4, 8]) report(`bare onnxruntime c=${c}`, results[`b${c}`]!);
for (const c of [1, 4, 8]) report(`decoder batched c=${c}`, results[`d${c}`]!);
report("llama.cpp c=1", results.l1!);

const bare1 = results.b1!;
const served1 = results.s1!;
const llama1 = results.l1!;
const promptTokens = [...prompts.values()].map((ids) => ids.length);
console.log(`prompt tokens ${Math.min(...promptTokens)}-${Math.max(...promptTokens)}`);
const same = bare1.streams.filter((b) => served.get(b.question)?.text === b.text).length;
console.log(`bare replies identical to served replies: ${same}/${bare1.streams.length}`);
// The decoder's replies 8 at once against its replies one at a time.
const batchedSame = results.d8!.streams.filter((d) => results.d1!.streams.find((b) => b.question === d.question)?.text === d.text).length;
const batchGain = results.d8!.totalTokS / results.d1!.totalTokS;
console.log(`decoder: 8 at once ${batchGain.toFixed(2)}x the total tok/s of one at a time; replies identical to its replies one at a time: ${batchedSame}/${results.d8!.streams.length}`);
for (const b of bare1.streams) {
  const s = served.get(b.question)?.text;
  if (s !== b.text) console.log(`  differs: ${JSON.stringify(b.question)}\n    served: ${JSON.stringify(s)}\n    bare:   ${JSON.stringify(b.text)}`);
}
for (const l of llama1.streams) console.log(`  llama.cpp: ${JSON.stringify(l.question)}\n    ${JSON.stringify(l.text)}`);
// Served time per token over bare: 1.00 means serving adds nothing.
const overhead = pairedDecodeRatio(bare1.streams, served1.streams);
const vsLlamaCpp = pairedDecodeRatio(served1.streams, llama1.streams);
const bareVsLlamaCpp = pairedDecodeRatio(bare1.streams, llama1.streams);
console.log(
  `per-question decode ratios at c=1 (median): served time per token over bare ${overhead.ratio.toFixed(2)} (${overhead.pairs} pairs), ` +
    `served over llama.cpp ${vsLlamaCpp.ratio.toFixed(2)} (${vsLlamaCpp.pairs} pairs), bare over llama.cpp ${bareVsLlamaCpp.ratio.toFixed(2)}; ` +
    `bench took ${((performance.now() - benchStarted) / 1000).toFixed(0)} s`,
);
console.log(
  `RESULT ttft_p50_ms=${pct(served1.streams.map((s) => s.ttftMs), 50).toFixed(0)} tok_s=${medianDecodeTokS(served1.streams).toFixed(1)} ` +
    `tok_s_c4=${results.s4!.totalTokS.toFixed(1)} tok_s_c8=${results.s8!.totalTokS.toFixed(1)} ` +
    `ttft_c4_p50_ms=${pct(results.s4!.streams.map((s) => s.ttftMs), 50).toFixed(0)} ttft_c8_p50_ms=${pct(results.s8!.streams.map((s) => s.ttftMs), 50).toFixed(0)} ` +
    `bare_tok_s=${medianDecodeTokS(bare1.streams).toFixed(1)} overhead=${overhead.ratio.toFixed(2)} same_text=${same}/${bare1.streams.length} ` +
    `model_ttft_p50_ms=${pct(served1.streams.map((s) => s.modelTtftMs), 50).toFixed(0)} ` +
    `llamacpp_tok_s=${medianDecodeTokS(llama1.streams).toFixed(1)} llamacpp_ttft_ms=${pct(llama1.streams.map((s) => s.ttftMs), 50).toFixed(0)} ` +
    `vs_llamacpp=${vsLlamaCpp.ratio.toFixed(2)} decoder_tok_s_c1=${results.d1!.totalTokS.toFixed(1)} decoder_tok_s_c8=${results.d8!.totalTokS.toFixed(1)} ` +
    `batch_gain=${batchGain.toFixed(2)} batch_same_text=${batchedSame}/${results.d8!.streams.length}`,
);
process.exit(0);
