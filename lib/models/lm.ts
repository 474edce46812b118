/**
 * The language model: SmolLM2-135M-Instruct exported to ONNX by `npm run models:build` (or a version
 * fine-tuned by training/train_lm.py, same folder layout): transformers.js's tokenizer and chat
 * template, and the ONNX graph on onnxruntime-node through the batched greedy decoder (./decoder.ts).
 * Local files only: remote model loading is switched off. This module runs it in the calling process;
 * what serves replies runs it in a process of its own (lib/models/lm-process.ts), off the event loop.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { AutoTokenizer, InterruptableStoppingCriteria, TextStreamer, type PreTrainedTokenizer, type Tensor } from "@huggingface/transformers";
import { BatchedDecoder } from "./decoder";
import { loadFromDir } from "./local-files";

export interface ChatTurn {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface GenerationResult {
  text: string;
  tokenCount: number;
  timeToFirstTokenMs: number | null;
  generationMs: number;
  stopped: boolean;
}

/** Lets a caller stop a generation, also one still waiting in the queue. */
export class GenerationStopper extends InterruptableStoppingCriteria {
  private readonly listeners = new Set<() => void>();

  interrupt(): void {
    super.interrupt();
    for (const listener of this.listeners) listener();
  }

  /** Calls `listener` at every later interrupt (one running elsewhere is told so); returns its removal. */
  onInterrupt(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export interface LanguageModel {
  id: string;
  version: string;
  countTokens(text: string): number;
  generate(
    turns: ChatTurn[],
    opts: {
      maxNewTokens: number;
      /** The customer's Stop (or a take over). */
      stopper: GenerationStopper;
      /** The caller's own end, e.g. enough sentences or a sentence that failed its check. */
      enough?: GenerationStopper;
      onText: (piece: string) => void;
    },
  ): Promise<GenerationResult>;
  /**
   * The summed negative log-likelihood (nats) of `answer` plus the closing end-of-turn token, as the
   * reply to `turns`, and how many tokens that is: held-out loss and perplexity, as the trainer scores them.
   */
  answerLoss(turns: ChatTurn[], answer: string): Promise<{ nll: number; tokens: number }>;
  /** Releases the ONNX session; the model may not be used afterwards. */
  dispose(): Promise<void>;
}

interface Manifest {
  id: string;
  version: string;
}

/** The stock language model's folder in the model store (`npm run models:build`). */
export const STOCK_LM_DIR = "lm/smollm2-135m-instruct";
const END_OF_TURN = "<|im_end|>";

/** The graph the server decodes with, in every model folder: onnxruntime-genai's builder graph, 8-bit block weights (training/build_lm.py). */
export const LM_MODEL_FILE = "onnx/model_quantized.onnx";

/**
 * Loads the model folder (config, tokenizer, onnx/model_quantized.onnx, manifest.json) into this
 * process and smoke-tests it: a short generation that must produce text, so a version that loads but
 * cannot write is refused. Its decode steps run on this process's event loop; generations running at
 * the same time share them (one batch).
 */
export async function loadLanguageModelInProcess(dir: string): Promise<LanguageModel> {
  const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as Manifest;
  if (typeof manifest.id !== "string" || typeof manifest.version !== "string") throw new Error(`${dir}/manifest.json has no id and version`);
  const [tokenizer, decoder] = await Promise.all([
    loadFromDir(path.resolve(dir), (localId) => AutoTokenizer.from_pretrained(localId) as Promise<PreTrainedTokenizer>),
    BatchedDecoder.open(path.resolve(dir), LM_MODEL_FILE),
  ]);
  const promptIds = (turns: ChatTurn[]) => {
    const encoded = tokenizer.apply_chat_template(turns, { add_generation_prompt: true, return_dict: true }) as { input_ids: Tensor };
    return Array.from(encoded.input_ids.data as BigInt64Array, Number);
  };

  const lm: LanguageModel = {
    id: manifest.id,
    version: manifest.version,
    countTokens: (text) => tokenizer.encode(text).length,
    async generate(turns, { maxNewTokens, stopper, enough = new GenerationStopper(), onText }) {
      const started = performance.now();
      let firstTokenAt: number | null = null;
      let text = "";
      const streamer = new TextStreamer(tokenizer, {
        skip_special_tokens: true,
        callback_function: (piece: string) => {
          if (!piece) return;
          text += piece;
          onText(piece);
        },
      });
      // Greedy without a repetition penalty: a penalty also penalises copying the facts of the prompt,
      // which is exactly what grounding needs (measured: it made replies invent phone numbers). Repeats
      // within the reply are banned instead (decoder.ts).
      const ids = await decoder.decode({
        promptIds: promptIds(turns),
        maxNewTokens,
        shouldStop: () => stopper.interrupted || enough.interrupted,
        onToken: (id) => {
          firstTokenAt ??= performance.now();
          streamer.put([[BigInt(id)]]);
        },
      });
      if (ids.length > 0) streamer.end();
      return {
        text: text.trim(),
        tokenCount: ids.length,
        timeToFirstTokenMs: firstTokenAt === null ? null : Math.round(firstTokenAt - started),
        generationMs: Math.round(performance.now() - started),
        stopped: stopper.interrupted,
      };
    },
    async answerLoss(turns, answer) {
      const promptText = tokenizer.apply_chat_template(turns, { add_generation_prompt: true, tokenize: false }) as string;
      const prompt = tokenizer.encode(promptText, { add_special_tokens: false });
      const target = tokenizer.encode(answer + END_OF_TURN, { add_special_tokens: false });
      const ids = [...prompt, ...target];
      const { data, vocab } = await decoder.logits(ids);
      let nll = 0;
      // The logits at position i predict token i + 1.
      for (let i = prompt.length - 1; i < ids.length - 1; i++) {
        const row = data.subarray(i * vocab, (i + 1) * vocab);
        let max = -Infinity;
        for (const x of row) if (x > max) max = x;
        let sum = 0;
        for (const x of row) sum += Math.exp(x - max);
        nll += max + Math.log(sum) - row[ids[i + 1]!]!;
      }
      return { nll, tokens: target.length };
    },
    async dispose() {
      await decoder.dispose();
    },
  };

  let smoke = "";
  await lm.generate([{ role: "user", content: "Hello" }], {
    maxNewTokens: 4,
    stopper: new GenerationStopper(),
    onText: (piece) => (smoke += piece),
  });
  if (!smoke.trim()) {
    await lm.dispose();
    throw new Error(`${manifest.version} failed its smoke test: a short generation produced no text`);
  }
  return lm;
}
