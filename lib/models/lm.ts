/**
 * The language model: SmolLM2-135M-Instruct exported to ONNX by `npm run models:build`, run by
 * transformers.js on onnxruntime-node. Local files only: remote model loading is switched off.
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
export class GenerationStopper extends InterruptableStoppingCriteria {}

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
}

interface Manifest {
  id: string;
  version: string;
}

/** Loads the model from `<modelsDir>/lm/<id>` and warms it up with one short generation. */
export async function loadLanguageModel(modelsDir: string, id = "smollm2-135m-instruct"): Promise<LanguageModel> {
  const lmDir = path.resolve(modelsDir, "lm");
  const manifest = JSON.parse(await readFile(path.join(lmDir, id, "manifest.json"), "utf8")) as Manifest;
  const [tokenizer, model] = await loadFromDir(path.join(lmDir, id), (localId) =>
    Promise.all([
      AutoTokenizer.from_pretrained(localId) as Promise<PreTrainedTokenizer>,
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
  };

  await lm.generate([{ role: "user", content: "Hello" }], {
    maxNewTokens: 4,
    stopper: new GenerationStopper(),
    onText: () => {},
  });
  return lm;
}
