/**
 * `npm run bench:lm`: the language model as customers get it (through the running server, socket.io,
 * the queue and Postgres) against a bare onnxruntime-node greedy loop over the same ONNX file.
 * Prints TTFT p50/p95, tokens/s for one stream and total tokens/s with 1, 4 and 8 concurrent chats.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { AutoTokenizer, env } from "@huggingface/transformers";
import { connectCustomer } from "../tests/helpers/chat-client";
import { createDatabase } from "../tests/helpers/postgres";
import { startServer } from "../tests/helpers/server";
import { execFileSync } from "node:child_process";
import pg from "pg";
import { buildPrompt } from "../lib/chat/prompt";

const MAX_NEW_TOKENS = Number(process.env.BENCH_MAX_NEW_TOKENS ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const QUESTIONS = [
  "Hi, where is my order NW-482913? It was supposed to arrive yesterday.",
  "How do I return a kettle that I bought two weeks ago?",
  "Do you ship to Canada and how much does express shipping cost?",
  "My card was charged twice for the same order, what should I do?",
  "Can I change the size of the jacket in my order before it ships?",
  "What is the warranty on your coffee grinders?",
  "I forgot my password and the reset email never arrives.",
  "Is the cast iron skillet oven safe?",
];
const MODEL_DIR = path.resolve(process.env.LOOPDESK_MODELS_DIR ?? "models", "lm", "smollm2-135m-instruct");

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

interface Stream {
  ttftMs: number;
  tokens: number;
  ms: number;
}

/** Runs `concurrency` streams at once, ROUNDS times; returns per-stream figures and total tokens/s. */
async function measure(concurrency: number, one: (q: string) => Promise<Stream>) {
  const streams: Stream[] = [];
  let tokens = 0;
  const started = performance.now();
  for (let r = 0; r < ROUNDS; r++) {
    const batch = await Promise.all(Array.from({ length: concurrency }, (_, i) => one(QUESTIONS[(r * concurrency + i) % QUESTIONS.length]!)));
    streams.push(...batch);
    tokens += batch.reduce((n, s) => n + s.tokens, 0);
  }
  return { streams, totalTokS: tokens / ((performance.now() - started) / 1000) };
}

// --- served: a real customer socket per chat, against the real server ------------------------
async function servedStream(serverUrl: string, db: pg.Pool, question: string): Promise<Stream> {
  const { socket } = await connectCustomer(serverUrl);
  try {
    const sent = performance.now();
    let first = 0;
    socket.on("chat:token", () => {
      first ||= performance.now();
    });
    const done = new Promise<{ messageId: string }>((resolve) => socket.once("chat:done", resolve));
    const ack = await socket.emitWithAck("chat:send", { clientMessageId: randomUUID(), text: question });
    if (!ack.ok) throw new Error(ack.error.message);
    const { messageId } = await done;
    const end = performance.now();
    // The stored token count: a streamed piece is a whole word, which may be several tokens.
    const { rows } = await db.query(`SELECT "tokenCount" FROM "Message" WHERE id = $1`, [messageId]);
    return { ttftMs: first - sent, tokens: Math.max(rows[0].tokenCount, 1), ms: end - sent };
  } finally {
    socket.disconnect();
  }
}

// --- bare: onnxruntime-node greedy loop with the KV cache, same ONNX file ---------------------
async function bareRunner() {
  env.allowRemoteModels = false;
  env.localModelPath = `${path.dirname(MODEL_DIR)}/`;
  const tokenizer = await AutoTokenizer.from_pretrained(path.basename(MODEL_DIR));
  const config = JSON.parse(await readFile(path.join(MODEL_DIR, "config.json"), "utf8"));
  const session = await ort.InferenceSession.create(path.join(MODEL_DIR, "onnx", "model_quantized.onnx"));
  const layers: number = config.num_hidden_layers;
  const kvHeads: number = config.num_key_value_heads;
  const headDim: number = config.head_dim ?? config.hidden_size / config.num_attention_heads;
  const eos = new Set<number>([].concat(config.eos_token_id ?? []));
  const genConfig = JSON.parse(await readFile(path.join(MODEL_DIR, "generation_config.json"), "utf8"));
  for (const id of [].concat(genConfig.eos_token_id ?? [])) eos.add(id);

  return async (question: string): Promise<Stream> => {
    const turns = buildPrompt({ history: [{ role: "customer", text: question }], countTokens: () => 0, historyTokens: 0 });
    const ids = (tokenizer.apply_chat_template(turns, { add_generation_prompt: true, tokenize: true, return_tensor: false }) as unknown as number[]).map(BigInt);
    const started = performance.now();
    let first = 0;
    let feeds: Record<string, ort.Tensor> = {};
    for (let l = 0; l < layers; l++) {
      for (const kv of ["key", "value"]) feeds[`past_key_values.${l}.${kv}`] = new ort.Tensor("float32", new Float32Array(0), [1, kvHeads, 0, headDim]);
    }
    let input = ids;
    let pastLength = 0;
    let generated = 0;
    for (; generated < MAX_NEW_TOKENS; generated++) {
      const total = pastLength + input.length;
      feeds.input_ids = new ort.Tensor("int64", BigInt64Array.from(input), [1, input.length]);
      feeds.attention_mask = new ort.Tensor("int64", new BigInt64Array(total).fill(1n), [1, total]);
      if (session.inputNames.includes("position_ids")) {
        feeds.position_ids = new ort.Tensor("int64", BigInt64Array.from(input.map((_, i) => BigInt(pastLength + i))), [1, input.length]);
      }
      const out = await session.run(feeds);
      const logits = out.logits!;
      const vocab = logits.dims[2]!;
      const data = logits.data as Float32Array;
      const offset = (input.length - 1) * vocab;
      let best = 0;
      for (let v = 1; v < vocab; v++) if (data[offset + v]! > data[offset + best]!) best = v;
      first ||= performance.now();
      pastLength = total;
      const next: Record<string, ort.Tensor> = {};
      for (let l = 0; l < layers; l++) {
        for (const kv of ["key", "value"]) next[`past_key_values.${l}.${kv}`] = out[`present.${l}.${kv}`]!;
      }
      feeds = next;
      input = [BigInt(best)];
      if (eos.has(best)) break;
    }
    return { ttftMs: first - started, tokens: Math.max(generated, 1), ms: performance.now() - started };
  };
}

function report(label: string, r: Awaited<ReturnType<typeof measure>>) {
  const ttft = r.streams.map((s) => s.ttftMs);
  const perStream = r.streams.map((s) => s.tokens / ((s.ms - s.ttftMs) / 1000 || 1));
  console.log(`${label.padEnd(22)} ttft p50 ${pct(ttft, 50).toFixed(0)} ms  p95 ${pct(ttft, 95).toFixed(0)} ms  per-stream ${pct(perStream, 50).toFixed(1)} tok/s  total ${r.totalTokS.toFixed(1)} tok/s`);
}

const database = await createDatabase("loopdesk_bench");
execFileSync(process.execPath, ["--import", "tsx", "scripts/migrate.ts", "deploy"], { env: { ...process.env, DATABASE_URL: database.url }, stdio: "ignore" });
const server = await startServer({ DATABASE_URL: database.url, LM_MAX_NEW_TOKENS: String(MAX_NEW_TOKENS) });
const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
const pool = new pg.Pool({ connectionString: database.url, max: 4 });
try {
  console.log(`model ${MODEL_DIR} (int8), max new tokens ${MAX_NEW_TOKENS}, ${ROUNDS} rounds, server LM_CONCURRENCY=${process.env.LM_CONCURRENCY ?? 2}`);
  for (const c of [1, 4, 8]) report(`served c=${c}`, (results[`s${c}`] = await measure(c, (q) => servedStream(server.url, pool, q))));
} finally {
  await pool.end();
  await server.stop();
  await database.drop();
}
const bare = await bareRunner();
await bare("warm up");
for (const c of [1, 4, 8]) report(`bare onnxruntime c=${c}`, (results[`b${c}`] = await measure(c, bare)));

const tokS = (r: Awaited<ReturnType<typeof measure>>) => pct(r.streams.map((s) => s.tokens / ((s.ms - s.ttftMs) / 1000 || 1)), 50);
const served = results.s1!;
const bare1 = results.b1!;
// Time per generated token, served over bare: 1.0 means serving adds nothing.
const overhead = tokS(bare1) / tokS(served);
console.log(
  `RESULT ttft_p50_ms=${pct(served.streams.map((s) => s.ttftMs), 50).toFixed(0)} tok_s=${tokS(served).toFixed(1)} ` +
    `tok_s_c4=${results.s4!.totalTokS.toFixed(1)} tok_s_c8=${results.s8!.totalTokS.toFixed(1)} bare_tok_s=${tokS(bare1).toFixed(1)} overhead=${overhead.toFixed(2)}`,
);
process.exit(0);
