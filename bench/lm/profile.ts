/**
 * `npm run bench:lm:profile`: where a step of the store's int8 ONNX graph spends its time. Runs the
 * bare greedy loop (bench/lm/bare.ts) under onnxruntime's profiler on a prompt in the served format
 * (system prompt, three help-centre facts, a customer question), the prompt then DECODE_STEPS tokens,
 * REPEATS times, and prints a table: each kind of work's time in the prompt pass and in one decode
 * step. A kind's time is the sum, over its nodes, of each node's median time, so a step slowed by other
 * work on a shared machine weighs little. Also compares a decode step as JavaScript sees it
 * (session.run), as onnxruntime times it (model_run) and its kernels' sum: the first gap is feeding and
 * fetching tensors (the whole KV cache copied in and out every token), the second the executor.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { AutoTokenizer, env } from "@huggingface/transformers";
import { buildPrompt } from "../../lib/chat/prompt";
import { articleSentences } from "../../lib/sentences";
import { bareGreedy, promptIds } from "./bare";
import { pct } from "./figures";
import { categorise, type TraceEvent } from "./profile-kinds";

const DECODE_STEPS = Number(process.env.BENCH_PROFILE_STEPS ?? 24);
const REPEATS = Number(process.env.BENCH_PROFILE_REPEATS ?? 3);
const MODEL_DIR = path.resolve(process.env.LOOPDESK_MODELS_DIR ?? "models", "lm", "smollm2-135m-instruct");
const QUESTION = "Hi, where is my order NW-482913? It was supposed to arrive yesterday.";
const ARTICLE = "tracking-your-order";

env.allowRemoteModels = false;
env.localModelPath = `${path.dirname(MODEL_DIR)}/`;
const tokenizer = await AutoTokenizer.from_pretrained(path.basename(MODEL_DIR));
const articles = JSON.parse(await readFile("training/data/knowledge_base.json", "utf8")) as { slug: string; body: string }[];
const facts = articleSentences(articles.find((a) => a.slug === ARTICLE)!.body).slice(0, 3);
const ids = promptIds(tokenizer, buildPrompt({ history: [{ role: "customer", text: QUESTION }], countTokens: (t) => tokenizer.encode(t).length, historyTokens: 768, facts }));

const profileDir = await mkdtemp(path.join(tmpdir(), "lm-profile-"));
try {
  const model = await bareGreedy(MODEL_DIR, { enableProfiling: true, profileFilePrefix: path.join(profileDir, "lm") });
  // Steps of each run, in order: true for a prompt pass.
  const isPrompt: boolean[] = [];
  const runMs: number[] = [];
  let generated = 0;
  for (let r = 0; r < REPEATS; r++) {
    const run = await model.generate(ids, DECODE_STEPS + 1);
    run.runMs.forEach((ms, i) => (isPrompt.push(i === 0), runMs.push(ms)));
    generated = run.ids.length;
  }
  await model.session.endProfiling();
  const [file] = (await readdir(profileDir)).filter((f) => f.endsWith(".json"));
  if (!file) throw new Error(`onnxruntime wrote no profile into ${profileDir}`);
  const events = JSON.parse(await readFile(path.join(profileDir, file), "utf8")) as TraceEvent[];

  const runs = events.filter((e) => e.name === "model_run").sort((a, b) => a.ts - b.ts);
  if (runs.length !== isPrompt.length) throw new Error(`the profile has ${runs.length} runs, the loop made ${isPrompt.length}`);
  const nodes = events.filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time")).sort((a, b) => a.ts - b.ts);
  // Each node's durations per kind of pass, keyed by node name.
  const perNode = { prompt: new Map<string, { kind: string; us: number[] }>(), decode: new Map<string, { kind: string; us: number[] }>() };
  const nodesPerRun: number[] = [];
  let n = 0;
  runs.forEach((run, i) => {
    const pass = isPrompt[i] ? perNode.prompt : perNode.decode;
    const start = n;
    for (; n < nodes.length && nodes[n]!.ts <= run.ts + run.dur; n++) {
      const node = nodes[n]!;
      if (node.ts < run.ts) continue;
      const entry = pass.get(node.name) ?? { kind: categorise(node), us: [] };
      entry.us.push(node.dur);
      pass.set(node.name, entry);
    }
    nodesPerRun.push(n - start);
  });
  const byKind = (pass: Map<string, { kind: string; us: number[] }>) => {
    const ms = new Map<string, number>();
    for (const { kind, us } of pass.values()) ms.set(kind, (ms.get(kind) ?? 0) + pct(us, 50) / 1000);
    return ms;
  };
  // Means, beside the medians: what the steps actually spent in kernels, slow ones included.
  const decodeKernelsMean = [...perNode.decode.values()].reduce((a, { us }) => a + us.reduce((x, y) => x + y, 0) / us.length / 1000, 0);
  const prompt = byKind(perNode.prompt);
  const decode = byKind(perNode.decode);
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const decodeKernels = sum(decode);
  const promptKernels = sum(prompt);
  const decodeRuns = (f: (i: number) => number) => pct(runs.map((_, i) => i).filter((i) => !isPrompt[i]).map(f), 50);

  console.log(
    `model ${MODEL_DIR}/onnx/model_quantized.onnx, prompt ${ids.length} tokens, ${REPEATS} × (prompt + ${generated - 1} decode steps), ` +
      "onnxruntime-node session defaults (as the bare loop)",
  );
  console.log("| kind of work | prompt pass ms | decode step ms | share of a decode step |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const [kind, ms] of [...decode].sort((a, b) => b[1] - a[1])) {
    console.log(`| ${kind} | ${(prompt.get(kind) ?? 0).toFixed(1)} | ${ms.toFixed(2)} | ${((100 * ms) / decodeKernels).toFixed(1)} % |`);
  }
  console.log(`| all kernels | ${promptKernels.toFixed(1)} | ${decodeKernels.toFixed(2)} | 100 % |`);
  const jsMs = decodeRuns((i) => runMs[i]!);
  const ortMs = decodeRuns((i) => runs[i]!.dur / 1000);
  const nodesPerStep = decodeRuns((i) => nodesPerRun[i]!);
  console.log(
    `decode step (p50): ${jsMs.toFixed(1)} ms in session.run as JavaScript sees it, ${ortMs.toFixed(1)} ms inside onnxruntime (model_run), ` +
      `${decodeKernels.toFixed(1)} ms in kernels (sum of per-node medians; means: ${decodeKernelsMean.toFixed(1)} ms), ${nodesPerStep} nodes a step; prompt pass p50 ${pct(runMs.filter((_, i) => isPrompt[i]), 50).toFixed(0)} ms`,
  );
  console.log(
    `RESULT decode_step_ms=${jsMs.toFixed(1)} model_run_ms=${ortMs.toFixed(1)} kernels_ms=${decodeKernels.toFixed(1)} kernels_mean_ms=${decodeKernelsMean.toFixed(1)} nodes_per_step=${nodesPerStep} ` +
      `prompt_tokens=${ids.length}`,
  );
} finally {
  await rm(profileDir, { recursive: true, force: true });
}
