/**
 * The sentence encoder: all-MiniLM-L6-v2 exported to ONNX by training/build_encoder.py (mean pooled,
 * L2-normalised), run directly by onnxruntime-node. Retrieval ranks knowledge-base sentences with it,
 * and the reply checker asks whether a generated sentence says what a fact sentence says.
 */
import path from "node:path";
import * as ort from "onnxruntime-node";
import { AutoTokenizer, type PreTrainedTokenizer } from "@huggingface/transformers";
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
  const sepId = tokenizer.sep_token_id ?? 102;

  async function embedBatch(texts: string[]): Promise<Float32Array[]> {
    const rows = texts.map((t) => {
      const ids = tokenizer.encode(t);
      return ids.length <= MAX_TOKENS ? ids : [...ids.slice(0, MAX_TOKENS - 1), sepId];
    });
    const width = Math.max(...rows.map((r) => r.length));
    const inputIds = new BigInt64Array(rows.length * width);
    const mask = new BigInt64Array(rows.length * width);
    rows.forEach((r, i) =>
      r.forEach((id, j) => {
        inputIds[i * width + j] = BigInt(id);
        mask[i * width + j] = 1n;
      }),
    );
    const out = await session.run({
      input_ids: new ort.Tensor("int64", inputIds, [rows.length, width]),
      attention_mask: new ort.Tensor("int64", mask, [rows.length, width]),
    });
    const data = out.embeddings!.data as Float32Array;
    const dim = data.length / rows.length;
    return rows.map((_, i) => data.slice(i * dim, (i + 1) * dim));
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
