/**
 * The language model: SmolLM2-135M-Instruct exported to ONNX by `npm run models:build` (or a version
 * fine-tuned by training/train_lm.py, same folder layout), run by transformers.js on onnxruntime-node.
 * Local files only: remote model loading is switched off. This module runs it in the calling process;
 * what serves replies runs it in a process of its own (lib/models/lm-process.ts), off the event loop.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  AutoModelForCausalLM,
  AutoTokenizer,
  InterruptableStoppingCriteria,
  LogitsProcessor,
  LogitsProcessorList,
  StoppingCriteriaList,
  TextStreamer,
  Tensor as TensorClass,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  type Tensor,
} from "@huggingface/transformers";
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

/** A reply never repeats a sequence of this many tokens. */
export const NO_REPEAT_NGRAM_TOKENS = 4;

/**
 * Bans any token that would repeat an n-gram the reply already contains. Only the reply's own tokens
 * count: transformers.js's no_repeat_ngram_size also bans n-grams of the prompt, which would forbid
 * quoting the facts the reply must be grounded in.
 */
export class NoRepeatedReplyNGrams extends LogitsProcessor {
  constructor(
    private readonly promptLength: number,
    private readonly n: number,
  ) {
    super();
  }

  _call(inputIds: bigint[][], logits: Tensor): Tensor {
    inputIds.forEach((ids, row) => {
      const reply = ids.slice(this.promptLength).map(Number);
      if (reply.length < this.n - 1) return;
      const prefix = reply.slice(reply.length - (this.n - 1)).join(",");
      const data = (logits as unknown as Tensor[])[row]!.data as Float32Array;
      for (let i = 0; i + this.n <= reply.length; i++) {
        if (reply.slice(i, i + this.n - 1).join(",") === prefix) data[reply[i + this.n - 1]!] = -Infinity;
      }
    });
    return logits;
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

/**
 * Loads the model folder (config, tokenizer, onnx/model_quantized.onnx, manifest.json) into this
 * process and smoke-tests it: a short generation that must produce text, so a version that loads but
 * cannot write is refused. Its decode steps run on this process's event loop.
 */
export async function loadLanguageModelInProcess(dir: string): Promise<LanguageModel> {
  const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as Manifest;
  if (typeof manifest.id !== "string" || typeof manifest.version !== "string") throw new Error(`${dir}/manifest.json has no id and version`);
  const [tokenizer, model] = await loadFromDir(path.resolve(dir), (localId) =>
    Promise.all([
      AutoTokenizer.from_pretrained(localId) as Promise<PreTrainedTokenizer>,
      // dtype q8 names the file onnx/model_quantized.onnx: the store's 8-bit graph (training/build_lm.py).
      AutoModelForCausalLM.from_pretrained(localId, { dtype: "q8", device: "cpu" }) as Promise<PreTrainedModel>,
    ]),
  );

  const lm: LanguageModel = {
    id: manifest.id,
    version: manifest.version,
    countTokens: (text) => tokenizer.encode(text).length,
    async generate(turns, { maxNewTokens, stopper, enough = new GenerationStopper(), onText }) {
      const started = performance.now();
      let firstTokenAt: number | null = null;
      let tokenCount = 0;
      let text = "";
      const streamer = new TextStreamer(tokenizer, {
        skip_prompt: true,
        skip_special_tokens: true,
        token_callback_function: () => {
          firstTokenAt ??= performance.now();
          tokenCount++;
        },
        callback_function: (piece: string) => {
          if (!piece) return;
          text += piece;
          onText(piece);
        },
      });
      const inputs = tokenizer.apply_chat_template(turns, { add_generation_prompt: true, return_dict: true }) as {
        input_ids: Tensor;
      };
      if (!stopper.interrupted) {
        const logitsProcessor = new LogitsProcessorList();
        logitsProcessor.push(new NoRepeatedReplyNGrams(inputs.input_ids.dims.at(-1)!, NO_REPEAT_NGRAM_TOKENS));
        const stoppingCriteria = new StoppingCriteriaList();
        stoppingCriteria.extend([stopper, enough]);
        await model.generate({
          ...inputs,
          max_new_tokens: maxNewTokens,
          // Greedy without a repetition penalty: a penalty also penalises copying the facts of the
          // prompt, which is exactly what grounding needs (measured: it made replies invent phone
          // numbers). Repeats within the reply are banned instead.
          do_sample: false,
          logits_processor: logitsProcessor,
          streamer,
          stopping_criteria: stoppingCriteria,
        });
      }
      return {
        text: text.trim(),
        tokenCount,
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
      const tensor = (data: number[]) => new TensorClass("int64", BigInt64Array.from(data.map(BigInt)), [1, data.length]);
      const { logits } = (await model({
        input_ids: tensor(ids),
        attention_mask: tensor(ids.map(() => 1)),
      })) as { logits: Tensor };
      const vocab = logits.dims.at(-1)!;
      const data = logits.data as Float32Array;
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
      await model.dispose();
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
