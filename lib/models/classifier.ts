/**
 * The intent classifier: a fine-tuned MiniLM exported to int8 ONNX by training/train.py, run
 * directly by onnxruntime-node. Tokenisation uses transformers.js with the tokenizer saved beside it.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { AutoTokenizer, type PreTrainedTokenizer } from "@huggingface/transformers";
import { bertInputs } from "./bert-inputs";
import { loadFromDir } from "./local-files";

export interface IntentPrediction {
  intent: string;
  probability: number;
  runnerUpIntent: string;
  runnerUpProbability: number;
  classifierVersion: string;
}

export interface Classifier {
  version: string;
  labels: string[];
  classify(text: string): Promise<IntentPrediction>;
  /** Probabilities over `labels` for each text, in one batch. */
  probabilities(texts: string[]): Promise<number[][]>;
}

/** Texts a freshly loaded model must classify sanely before it may serve. */
const SMOKE_TEXTS = ["where is my order", "hello", "I want to return my kettle", "what's the weather like on mars"];

/** Loads `dir` (absolute), runs a smoke test and returns the classifier; throws if anything is off. */
export async function loadClassifier(dir: string, version: string): Promise<Classifier> {
  const labels = JSON.parse(await readFile(path.join(dir, "labels.json"), "utf8")) as string[];
  const trainConfig = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8")) as { max_len?: number };
  const maxLength = trainConfig.max_len ?? 64;
  const tokenizer: PreTrainedTokenizer = await loadFromDir(dir, (id) => AutoTokenizer.from_pretrained(id));
  const session = await ort.InferenceSession.create(path.join(dir, "model_int8.onnx"), {
    intraOpNumThreads: 1, // a single short text: threads cost more than they give, and generation needs the cores
    graphOptimizationLevel: "all",
  });

  async function probabilities(texts: string[]): Promise<number[][]> {
    const out = await session.run(bertInputs(tokenizer, texts, maxLength));
    const logits = out.logits!.data as Float32Array;
    return texts.map((_, row) => softmax(Array.from(logits.subarray(row * labels.length, (row + 1) * labels.length))));
  }

  const classifier: Classifier = {
    version,
    labels,
    probabilities,
    async classify(text) {
      const [p] = await probabilities([text]);
      const order = p!.map((_, i) => i).sort((a, b) => p![b]! - p![a]!);
      const [top, second] = [order[0]!, order[1] ?? order[0]!];
      return {
        intent: labels[top]!,
        probability: p![top]!,
        runnerUpIntent: labels[second]!,
        runnerUpProbability: p![second]!,
        classifierVersion: version,
      };
    },
  };

  const smoke = await probabilities(SMOKE_TEXTS);
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
