/**
 * The intent classifier: a fine-tuned MiniLM exported to int8 ONNX by training/train.py, run
 * directly by onnxruntime-node. Tokenisation uses transformers.js with the tokenizer saved beside it.
 *
 * A version trained since issue 15 also has calibration.json (temperature, out-of-scope thresholds fitted
 * on validation data) and mahalanobis.json (the distance score on the model's `embedding` output), both
 * written by training/calibration.py; a version without them loads and behaves as before.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { AutoTokenizer, type PreTrainedTokenizer } from "@huggingface/transformers";
import { z } from "zod";
import type { FittedThresholds } from "../chat/decide";
import { bertInputs } from "./bert-inputs";
import { loadFromDir } from "./local-files";

export interface IntentPrediction {
  intent: string;
  probability: number;
  runnerUpIntent: string;
  runnerUpProbability: number;
  classifierVersion: string;
  /** Mahalanobis distance to the nearest intent (higher = further from anything known), when the version has the fit. */
  oosScore?: number;
  /** The version's own thresholds, when it fitted them. */
  fitted?: FittedThresholds;
}

export interface Classifier {
  version: string;
  labels: string[];
  /** calibration.json, when the version has one. */
  calibration: Calibration | null;
  classify(text: string): Promise<IntentPrediction>;
  /** Probabilities over `labels` for each text, in one batch (temperature-scaled when the version is calibrated). */
  probabilities(texts: string[]): Promise<number[][]>;
}

const thresholdsSchema = z.object({
  global: z.number().min(0).max(1),
  per_intent: z.record(z.string(), z.number().min(0).max(1)),
  oos_score: z.number().nonnegative().nullable(),
});
const calibrationSchema = z.object({
  temperature: z.number().positive(),
  oos_method: z.string().nullable(),
  thresholds: thresholdsSchema.nullable(),
  /** Every out-of-scope method compared on validation, with its thresholds (bench:classifier scores each). */
  methods: z.record(z.string(), thresholdsSchema),
  fitted_on: z.string(),
});
export type Calibration = z.infer<typeof calibrationSchema>;

const mahalanobisSchema = z.object({
  labels: z.array(z.string()).min(1),
  dim: z.number().int().positive(),
  transform: z.array(z.number()),
  means: z.array(z.number()),
});

/** mahalanobis.json: the precision's factor W (row-major, dim × dim) and the class means mapped by W (row-major, classes × dim). */
export type MahalanobisFit = z.infer<typeof mahalanobisSchema>;

export function fittedThresholds(t: z.infer<typeof thresholdsSchema>): FittedThresholds {
  return { global: t.global, perIntent: t.per_intent, oosScore: t.oos_score };
}

async function readOptionalJson<T>(file: string, schema: z.ZodType<T>): Promise<T | null> {
  if (!existsSync(file)) return null;
  const parsed = schema.safeParse(JSON.parse(await readFile(file, "utf8")));
  if (!parsed.success) throw new Error(`${path.basename(file)} is malformed: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

/** d(x) = min over intents of |W x - W mean| (training/calibration.py Mahalanobis). */
export function mahalanobisScorer(m: MahalanobisFit): (embedding: Float32Array) => number {
  const { dim } = m;
  if (m.transform.length !== dim * dim || m.means.length !== dim * m.labels.length) throw new Error("mahalanobis.json has the wrong shape");
  const transform = Float64Array.from(m.transform);
  const means = Float64Array.from(m.means);
  const z = new Float64Array(dim);
  return (x) => {
    if (x.length !== dim) throw new Error(`embedding of ${x.length} values, mahalanobis.json expects ${dim}`);
    for (let i = 0; i < dim; i++) {
      let acc = 0;
      for (let j = 0; j < dim; j++) acc += transform[i * dim + j]! * x[j]!;
      z[i] = acc;
    }
    let best = Infinity;
    for (let c = 0; c < m.labels.length; c++) {
      let d2 = 0;
      for (let i = 0; i < dim; i++) d2 += (z[i]! - means[c * dim + i]!) ** 2;
      if (d2 < best) best = d2;
    }
    return Math.sqrt(best);
  };
}

/** Texts a freshly loaded model must classify sanely before it may serve. */
const SMOKE_TEXTS = ["where is my order", "hello", "I want to return my kettle", "what's the weather like on mars"];

/** Loads `dir` (absolute), runs a smoke test and returns the classifier; throws if anything is off. */
export async function loadClassifier(dir: string, version: string): Promise<Classifier> {
  const labels = JSON.parse(await readFile(path.join(dir, "labels.json"), "utf8")) as string[];
  const trainConfig = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8")) as { max_len?: number };
  const maxLength = trainConfig.max_len ?? 64;
  const tokenizer: PreTrainedTokenizer = await loadFromDir(dir, (id) => AutoTokenizer.from_pretrained(id));
  const calibration = await readOptionalJson(path.join(dir, "calibration.json"), calibrationSchema);
  const mahalanobis = await readOptionalJson(path.join(dir, "mahalanobis.json"), mahalanobisSchema);
  const session = await ort.InferenceSession.create(path.join(dir, "model_int8.onnx"), {
    intraOpNumThreads: 1, // a single short text: threads cost more than they give, and generation needs the cores
    graphOptimizationLevel: "all",
  });
  if (mahalanobis && !session.outputNames.includes("embedding")) throw new Error("mahalanobis.json needs a model with an embedding output");
  const oosScore = mahalanobis ? mahalanobisScorer(mahalanobis) : null;
  const temperature = calibration?.temperature ?? 1;
  const fitted = calibration?.thresholds ? fittedThresholds(calibration.thresholds) : undefined;

  async function run(texts: string[]): Promise<{ probabilities: number[][]; oosScores: number[] | null }> {
    const out = await session.run(bertInputs(tokenizer, texts, maxLength));
    const logits = out.logits!.data as Float32Array;
    const n = labels.length;
    const probabilities = texts.map((_, row) => softmax(Array.from(logits.subarray(row * n, (row + 1) * n), (l) => l / temperature)));
    if (!oosScore) return { probabilities, oosScores: null };
    const emb = out.embedding!.data as Float32Array;
    const dim = emb.length / texts.length;
    return { probabilities, oosScores: texts.map((_, row) => oosScore(emb.subarray(row * dim, (row + 1) * dim))) };
  }

  const classifier: Classifier = {
    version,
    labels,
    calibration,
    probabilities: async (texts) => (await run(texts)).probabilities,
    async classify(text) {
      const { probabilities: [p], oosScores } = await run([text]);
      const order = p!.map((_, i) => i).sort((a, b) => p![b]! - p![a]!);
      const [top, second] = [order[0]!, order[1] ?? order[0]!];
      return {
        intent: labels[top]!,
        probability: p![top]!,
        runnerUpIntent: labels[second]!,
        runnerUpProbability: p![second]!,
        classifierVersion: version,
        ...(oosScores ? { oosScore: oosScores[0]! } : {}),
        ...(fitted ? { fitted } : {}),
      };
    },
  };

  const smoke = await classifier.probabilities(SMOKE_TEXTS);
  for (const p of smoke) {
    const sum = p.reduce((a, b) => a + b, 0);
    if (p.length !== labels.length || !p.every(Number.isFinite) || Math.abs(sum - 1) > 1e-3) {
      throw new Error(`classifier ${version} failed its smoke test (${p.length} outputs for ${labels.length} labels)`);
    }
  }
  return classifier;
}

function softmax(xs: number[]): number[] {
  const max = Math.max(...xs);
  const exps = xs.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}
