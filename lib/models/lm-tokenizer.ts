/**
 * The language model's tokenizer alone (no weights): what training examples are measured and their
 * prompts budgeted with, exactly as the served model counts (lib/models/lm.ts countTokens).
 */
import path from "node:path";
import { AutoTokenizer, type PreTrainedTokenizer } from "@huggingface/transformers";
import type { LmRenderer } from "../dataset/lm-example";
import type { ChatTurn } from "./lm";
import { loadFromDir } from "./local-files";

/** The base model's folder in the model store; fine-tuned versions keep its tokenizer. */
export const LM_BASE_ID = "smollm2-135m-instruct";

const loaded = new Map<string, Promise<PreTrainedTokenizer>>();

export async function loadLmRenderer(modelsDir: string, historyTokens: number): Promise<LmRenderer> {
  const dir = path.resolve(modelsDir, "lm", LM_BASE_ID);
  let tokenizer = loaded.get(dir);
  if (!tokenizer) {
    tokenizer = loadFromDir(dir, (id) => AutoTokenizer.from_pretrained(id) as Promise<PreTrainedTokenizer>);
    loaded.set(dir, tokenizer);
    tokenizer.catch(() => loaded.delete(dir));
  }
  const t = await tokenizer;
  return {
    historyTokens,
    countTokens: (text) => t.encode(text).length,
    countChatTokens: (turns: ChatTurn[]) => (t.apply_chat_template(turns, { tokenize: true, return_tensor: false, return_dict: false }) as unknown as number[]).length,
  };
}
