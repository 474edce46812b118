/**
 * `npm run bench:lm`: the language model as customers get it (through the running server, socket.io,
 * the queue and Postgres) against a bare onnxruntime-node greedy loop over the same ONNX file.
 * Prints TTFT p50/p95, tokens/s for one stream and total tokens/s with 1, 4 and 8 concurrent chats.
 *
 * Both sides run the same questions with the same prompt (buildPrompt with the facts the server
 * retrieved for the reply), the same chat template and the same decoding (greedy, at most
 * BENCH_MAX_NEW_TOKENS). The server checks each sentence before sending it and stops the model at the
 * first that fails (lib/chat/grounded-reply.ts), so its replies are the bare loop's cut short or
 * replaced by quoted facts; the run says how many match. Definitions, identical on both sides:
 *   - TTFT: from sending (served: chat:send on a connected socket) to the first visible text
 *     (served: the first chat:token at the client; bare: the first token out of the model);
 *   - tokens: tokens the model produced, the end-of-sequence token included (served: the stored
 *     tokenCount, as a streamed piece is a whole word, several tokens);
 *   - per-stream tok/s: the tokens produced after the first visible text over the time from it to
 *     the end (served: chat:done at the client);
 *   - total tok/s: all tokens of a level over its wall time;
 *   - overhead: served time per token over bare time per token, medians at concurrency 1.
 * At concurrency 1 served and bare streams alternate, so load from other work on a shared machine
 * weighs on both alike; the served tokensAtFirst is re-tokenised from the first piece (approximate
 * by a token at most).
 */
import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import * as ort from "onnxruntime-node";
import pg from "pg";
import { AutoTokenizer, env, type PreTrainedTokenizer, type Tensor } from "@huggingface/transformers";
import { connectCustomer } from "../tests/helpers/chat-client";
import type { ReplyGrounding } from "../lib/protocol/chat";
import { createDatabase } from "../tests/helpers/postgres";
import { startServer } from "../tests/helpers/server";
import { buildPrompt } from "../lib/chat/prompt";
import type { ChatTurn } from "../lib/models/lm";

const MAX_NEW_TOKENS = Number(process.env.BENCH_MAX_NEW_TOKENS ?? 64);
/**
 * Streams per concurrency level (times BENCH_ROUNDS): c=1 asks every question once, one at a time
 * (the bare loop's replies are checked against these), c=4 one round, c=8 every question at once.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const STREAMS: Record<number, number> = { 1: 8, 4: 4, 8: 8 };
const LM_CONCURRENCY = Number(process.env.LM_CONCURRENCY ?? 2);
const HISTORY_TOKENS = Number(process.env.LM_HISTORY_TOKENS ?? 768);
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
const MODEL_DIR = path.resolve(process.env.LOOPDESK_MODELS_DIR ?? "models", "lm", "smollm2-135m-instruct");

/** Nearest-rank percentile. */
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

interface Stream {
  question: string;
  ttftMs: number;
  /** Tokens produced, end-of-sequence included. */
  tokens: number;
  /** Of those, the ones produced by the time the first text was visible. */
  tokensAtFirst: number;
  ms: number;
  text: string;
}
interface Level {
  streams: Stream[];
  totalTokS: number;
}

const msPerToken = (s: Stream) => (s.ms - s.ttftMs) / Math.max(1, s.tokens - s.tokensAtFirst);
const perStreamTokS = (s: Stream) => 1000 / msPerToken(s);

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

async function servedStream(
  serverUrl: string,
  db: pg.Pool,
  tokenizer: PreTrainedTokenizer,
  question: string,
  seen: Map<string, ServedReply>,
): Promise<Stream> {
  const { socket } = await connectCustomer(serverUrl);
  try {
    let first = 0;
    let firstPiece = "";
    socket.on("chat:token", ({ text }) => {
      if (first) return;
      first = performance.now();
      firstPiece = text;
    });
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
    const { rows } = await db.query<{ tokenCount: number | null; modelVersion: string | null; intent: string | null; grounding: ReplyGrounding | null }>(
      `SELECT r."tokenCount", r."modelVersion", c.intent, r.grounding
         FROM "Message" r JOIN "Message" c ON c.id = r."replyToId" WHERE r.id = $1`,
      [messageId],
    );
    const row = rows[0];
    // A template reply (one piece, no model) would make every figure meaningless.
    if (!row || row.modelVersion === "template" || !row.tokenCount || !first) {
      throw new Error(`not answered by the language model (intent ${row?.intent}): ${question}`);
    }
    seen.set(question, { intent: row.intent, text, facts: row.grounding?.check?.facts.map((f) => f.text) ?? [] });
    // The streamer shows text a word at a time: the first piece came once its tokens (and the
    // token after it, which ends the word) were out of the model.
    const tokensAtFirst = Math.min(row.tokenCount, tokenizer.encode(firstPiece.trimEnd(), { add_special_tokens: false }).length + 1);
    return { question, ttftMs: first - sent, tokens: row.tokenCount, tokensAtFirst, ms: end - sent, text };
  } finally {
    socket.disconnect();
  }
}

// --- bare: onnxruntime-node greedy loop with the KV cache, same ONNX file ---------------------
async function bareRunner(tokenizer: PreTrainedTokenizer, prompts: Map<string, ChatTurn[]>) {
  const config = JSON.parse(await readFile(path.join(MODEL_DIR, "config.json"), "utf8"));
  const genConfig = JSON.parse(await readFile(path.join(MODEL_DIR, "generation_config.json"), "utf8"));
  const session = await ort.InferenceSession.create(path.join(MODEL_DIR, "onnx", "model_quantized.onnx"));
  const layers: number = config.num_hidden_layers;
  const kvHeads: number = config.num_key_value_heads;
  const headDim: number = config.head_dim ?? config.hidden_size / config.num_attention_heads;
  const eos = new Set<number>([...[config.eos_token_id ?? []].flat(), ...[genConfig.eos_token_id ?? []].flat()]);
  const pastName = (l: number, kv: string) => `past_key_values.${l}.${kv}`;
  const presentName = (l: number, kv: string) => `present.${l}.${kv}`;
  // Fail with a clear message if the export's names are not the ones this loop feeds.
  const wantIn = ["input_ids", "attention_mask", pastName(0, "key"), pastName(layers - 1, "value")];
  const wantOut = ["logits", presentName(0, "key"), presentName(layers - 1, "value")];
  const missing = [...wantIn.filter((n) => !session.inputNames.includes(n)), ...wantOut.filter((n) => !session.outputNames.includes(n))];
  if (missing.length) throw new Error(`ONNX model lacks ${missing.join(", ")}; it has inputs ${session.inputNames.join(",")} outputs ${session.outputNames.join(",")}`);
  const hasPositionIds = session.inputNames.includes("position_ids");

  return async (question: string): Promise<Stream> => {
    const turns = prompts.get(question) ?? buildPrompt({ history: [{ role: "customer", text: question }], countTokens: (t) => tokenizer.encode(t).length, historyTokens: HISTORY_TOKENS });
    // The same call the server makes (lib/models/lm.ts), so the token ids are the same.
    const encoded = tokenizer.apply_chat_template(turns, { add_generation_prompt: true, return_dict: true }) as unknown as { input_ids: Tensor };
    const promptIds = Array.from(encoded.input_ids.data as BigInt64Array);
    const output: number[] = [];
    const started = performance.now();
    let first = 0;
    let feeds: Record<string, ort.Tensor> = {};
    for (let l = 0; l < layers; l++) {
      for (const kv of ["key", "value"]) feeds[pastName(l, kv)] = new ort.Tensor("float32", new Float32Array(0), [1, kvHeads, 0, headDim]);
    }
    let input = promptIds;
    let pastLength = 0;
    while (output.length < MAX_NEW_TOKENS) {
      const total = pastLength + input.length;
      feeds.input_ids = new ort.Tensor("int64", BigInt64Array.from(input), [1, input.length]);
      feeds.attention_mask = new ort.Tensor("int64", new BigInt64Array(total).fill(1n), [1, total]);
      if (hasPositionIds) {
        feeds.position_ids = new ort.Tensor("int64", BigInt64Array.from(input.map((_, i) => BigInt(pastLength + i))), [1, input.length]);
      }
      const out = await session.run(feeds);
      const logits = out.logits!;
      const vocab = logits.dims[2]!;
      const row = (logits.data as Float32Array).slice((input.length - 1) * vocab, input.length * vocab);
      let best = 0;
      for (let v = 1; v < vocab; v++) if (row[v]! > row[best]!) best = v;
      first ||= performance.now();
      output.push(best);
      pastLength = total;
      const next: Record<string, ort.Tensor> = {};
      for (let l = 0; l < layers; l++) {
        for (const kv of ["key", "value"]) next[pastName(l, kv)] = out[presentName(l, kv)]!;
      }
      feeds = next;
      input = [BigInt(best)];
      if (eos.has(best)) break;
    }
    const ms = performance.now() - started;
    const text = tokenizer.decode(output, { skip_special_tokens: true }).trim();
    return { question, ttftMs: first - started, tokens: output.length, tokensAtFirst: 1, ms, text };
  };
}

function report(label: string, r: Level) {
  const ttft = r.streams.map((s) => s.ttftMs);
  const perStream = r.streams.map(perStreamTokS);
  console.log(
    `${label.padEnd(22)} ttft p50 ${pct(ttft, 50).toFixed(0)} ms  p95 ${pct(ttft, 95).toFixed(0)} ms  ` +
      `per-stream p50 ${pct(perStream, 50).toFixed(1)} tok/s  total ${r.totalTokS.toFixed(1)} tok/s  ` +
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
const prompts = new Map<string, ChatTurn[]>();
const bare = await bareRunner(tokenizer, prompts);
try {
  execFileSync(process.execPath, ["--import", "tsx", "scripts/migrate.ts", "deploy"], { env: { ...process.env, DATABASE_URL: database.url }, stdio: "ignore" });
  const server = await startServer({ DATABASE_URL: database.url, LM_MAX_NEW_TOKENS: String(MAX_NEW_TOKENS), LM_CONCURRENCY: String(LM_CONCURRENCY) });
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  const servedOne = (q: string) => servedStream(server.url, pool, tokenizer, q, served);
  // The bare loop gets the prompt the server built: the facts it retrieved for the reply.
  const learnPrompt = async (question: string) => {
    const facts = served.get(question)?.facts ?? [];
    prompts.set(question, buildPrompt({ history: [{ role: "customer", text: question }], countTokens, historyTokens: HISTORY_TOKENS, facts }));
  };
  try {
    console.log(
      `model ${MODEL_DIR} (int8), max new tokens ${MAX_NEW_TOKENS}, ${QUESTIONS.length} questions, streams per level c=1/4/8: ${[1, 4, 8].map((c) => STREAMS[c]! * ROUNDS).join("/")}, ` +
        `server LM_CONCURRENCY=${LM_CONCURRENCY}, ${availableParallelism()} CPUs`,
    );
    // Warm-up, not counted.
    await servedOne(QUESTIONS[0]!);
    await learnPrompt(QUESTIONS[0]!);
    await bare(QUESTIONS[0]!);
    // c=1, which the overhead compares: served and bare take turns, question by question, so a
    // machine shared with other work slows both alike. The idle server does nothing meanwhile.
    const pairs = { s: [] as Stream[], b: [] as Stream[], sMs: 0, bMs: 0 };
    for (let i = 0; i < STREAMS[1]! * ROUNDS; i++) {
      const q = QUESTIONS[i % QUESTIONS.length]!;
      let t = performance.now();
      pairs.s.push(await servedOne(q));
      pairs.sMs += performance.now() - t;
      await learnPrompt(q);
      t = performance.now();
      pairs.b.push(await bare(q));
      pairs.bMs += performance.now() - t;
    }
    const tokens = (xs: Stream[]) => xs.reduce((n, x) => n + x.tokens, 0);
    results.s1 = { streams: pairs.s, totalTokS: tokens(pairs.s) / (pairs.sMs / 1000) };
    results.b1 = { streams: pairs.b, totalTokS: tokens(pairs.b) / (pairs.bMs / 1000) };
    for (const c of [4, 8]) results[`s${c}`] = await measure(c, servedOne);
  } finally {
    await pool.end();
    await server.stop();
  }
} finally {
  await database.drop();
}
for (const c of [4, 8]) results[`b${c}`] = await measure(c, bare);
for (const c of [1, 4, 8]) report(`served c=${c}`, results[`s${c}`]!);
for (const c of [1, 4, 8]) report(`bare onnxruntime c=${c}`, results[`b${c}`]!);

const bare1 = results.b1!;
const served1 = results.s1!;
const same = bare1.streams.filter((b) => served.get(b.question)?.text === b.text).length;
console.log(`bare replies identical to served replies: ${same}/${bare1.streams.length}`);
for (const b of bare1.streams) {
  const s = served.get(b.question)?.text;
  if (s !== b.text) console.log(`  differs: ${JSON.stringify(b.question)}\n    served: ${JSON.stringify(s)}\n    bare:   ${JSON.stringify(b.text)}`);
}
// Time per generated token, served over bare: 1.00 means serving adds nothing.
const servedMsPerTok = pct(served1.streams.map(msPerToken), 50);
const bareMsPerTok = pct(bare1.streams.map(msPerToken), 50);
const overhead = servedMsPerTok / bareMsPerTok;
console.log(`time per token at c=1 (p50): served ${servedMsPerTok.toFixed(1)} ms, bare ${bareMsPerTok.toFixed(1)} ms; bench took ${((performance.now() - benchStarted) / 1000).toFixed(0)} s`);
console.log(
  `RESULT ttft_p50_ms=${pct(served1.streams.map((s) => s.ttftMs), 50).toFixed(0)} tok_s=${pct(served1.streams.map(perStreamTokS), 50).toFixed(1)} ` +
    `tok_s_c4=${results.s4!.totalTokS.toFixed(1)} tok_s_c8=${results.s8!.totalTokS.toFixed(1)} ` +
    `bare_tok_s=${pct(bare1.streams.map(perStreamTokS), 50).toFixed(1)} overhead=${overhead.toFixed(2)} same_text=${same}/${bare1.streams.length}`,
);
process.exit(0);
