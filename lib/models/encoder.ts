/**
 * The sentence encoder: all-MiniLM-L6-v2 exported to ONNX by training/build_encoder.py (mean pooled,
 * L2-normalised), run directly by onnxruntime-node. Retrieval ranks knowledge-base sentences with it,
 * and the reply checker asks whether a generated sentence says what a fact sentence says.
 */
import path from "node:path";
import * as ort from "onnxruntime-node";
import { AutoTokenizer, type PreTrainedTokenizer } from "@huggingface/transformers";
import { bertInputs } from "./bert-inputs";
import { loadFromDir } from "./local-files";

/** Longer texts are cut: a knowledge-base sentence or a question is far shorter. */
const MAX_TOKENS = 128;

export interface Encoder {
  /** One unit vector per text; the dot product of two is their cosine similarity. */
  embed(texts: string[]): Promise<Float32Array[]>;
}

export async function loadEncoder(modelsDir: string): Promise<Encoder> {
  const dir = path.resolve(modelsDir, "encoder");
  const tokenizer: PreTrainedTokenizer = await loadFromDir(dir, (id) => AutoTokenizer.from_pretrained(id));
  const session = await ort.InferenceSession.create(path.join(dir, "model.onnx"), {
    intraOpNumThreads: 1, // short texts: threads cost more than they give, and generation needs the cores
    graphOptimizationLevel: "all",
  });

  async function embedBatch(texts: string[]): Promise<Float32Array[]> {
    const out = await session.run(bertInputs(tokenizer, texts, MAX_TOKENS));
    const data = out.embeddings!.data as Float32Array;
    const dim = data.length / texts.length;
    return texts.map((_, i) => data.slice(i * dim, (i + 1) * dim));
  }

  return {
    async embed(texts) {
      // Batches of similar length waste little on padding; 32 keeps one run's memory small.
      const vectors: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += 32) vectors.push(...(await embedBatch(texts.slice(i, i + 32))));
      return vectors;
    },
  };
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
}
