/**
 * The bare onnxruntime-node greedy loop with the KV cache over the store's int8 ONNX file: no
 * transformers.js, no server. bench:lm measures the served path against it, bench:lm:profile runs it
 * under onnxruntime's profiler.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import * as ort from "onnxruntime-node";
import type { PreTrainedTokenizer, Tensor } from "@huggingface/transformers";
import { LM_MODEL_FILE, type ChatTurn } from "../../lib/models/lm";

/** The prompt's token ids as the server makes them (lib/models/lm.ts): the same call, the same ids. */
export function promptIds(tokenizer: PreTrainedTokenizer, turns: ChatTurn[]): number[] {
  const encoded = tokenizer.apply_chat_template(turns, { add_generation_prompt: true, return_dict: true }) as unknown as { input_ids: Tensor };
  return Array.from(encoded.input_ids.data as BigInt64Array, Number);
}

export interface BareRun {
  /** The tokens produced, the end-of-sequence token included. */
  ids: number[];
  /** From the start to the first token, and from it to the last. */
  ttftMs: number;
  decodeMs: number;
  /** Each session.run as the caller sees it: the prompt's first, then one per further token. */
  runMs: number[];
}

export async function bareGreedy(modelDir: string, options: ort.InferenceSession.SessionOptions = {}) {
  const config = JSON.parse(await readFile(path.join(modelDir, "config.json"), "utf8"));
  const genConfig = JSON.parse(await readFile(path.join(modelDir, "generation_config.json"), "utf8"));
  const session = await ort.InferenceSession.create(path.join(modelDir, LM_MODEL_FILE), options);
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

  return {
    session,
    /** Greedy from `promptIds`: at most `maxNewTokens`, ending after an end-of-sequence token. */
    async generate(promptIds: number[], maxNewTokens: number): Promise<BareRun> {
      const ids: number[] = [];
      const runMs: number[] = [];
      const started = performance.now();
      let first = 0;
      let feeds: Record<string, ort.Tensor> = {};
      for (let l = 0; l < layers; l++) {
        for (const kv of ["key", "value"]) feeds[pastName(l, kv)] = new ort.Tensor("float32", new Float32Array(0), [1, kvHeads, 0, headDim]);
      }
      let input = promptIds.map(BigInt);
      let pastLength = 0;
      while (ids.length < maxNewTokens) {
        const total = pastLength + input.length;
        feeds.input_ids = new ort.Tensor("int64", BigInt64Array.from(input), [1, input.length]);
        feeds.attention_mask = new ort.Tensor("int64", new BigInt64Array(total).fill(1n), [1, total]);
        if (hasPositionIds) {
          feeds.position_ids = new ort.Tensor("int64", BigInt64Array.from(input.map((_, i) => BigInt(pastLength + i))), [1, input.length]);
        }
        const runStarted = performance.now();
        const out = await session.run(feeds);
        runMs.push(performance.now() - runStarted);
        const logits = out.logits!;
        const vocab = logits.dims[2]!;
        const row = (logits.data as Float32Array).subarray((input.length - 1) * vocab, input.length * vocab);
        let best = 0;
        for (let v = 1; v < vocab; v++) if (row[v]! > row[best]!) best = v;
        first ||= performance.now();
        ids.push(best);
        pastLength = total;
        const next: Record<string, ort.Tensor> = {};
        for (let l = 0; l < layers; l++) {
          for (const kv of ["key", "value"]) next[pastName(l, kv)] = out[presentName(l, kv)]!;
        }
        feeds = next;
        input = [BigInt(best)];
        if (eos.has(best)) break;
      }
      return { ids, ttftMs: first - started, decodeMs: performance.now() - first, runMs };
    },
  };
}
