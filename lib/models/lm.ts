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
  TextStreamer,
  type PreTrainedModel,
  type PreTrainedTokenizer,
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

export interface LanguageModel {
  id: string;
  version: string;
  countTokens(text: string): number;
  generate(
    turns: ChatTurn[],
    opts: { maxNewTokens: number; stopper: GenerationStopper; onText: (piece: string) => void },
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
    async generate(turns, { maxNewTokens, stopper, onText }) {
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
      const inputs = tokenizer.apply_chat_template(turns, { add_generation_prompt: true, return_dict: true }) as object;
      if (!stopper.interrupted) {
        await model.generate({
          ...inputs,
          max_new_tokens: maxNewTokens,
          // Plain greedy: a repetition penalty also penalises copying the facts of the prompt, which
          // is exactly what grounding needs (measured: it made replies invent phone numbers).
          do_sample: false,
          streamer,
          stopping_criteria: stopper,
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
