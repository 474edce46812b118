/**
 * The inputs both MiniLM models (the classifier and the sentence encoder) take: a batch of texts as
 * `input_ids` and `attention_mask`, padded to the longest. Truncated the way Python's tokenizer does
 * it (transformers.js truncation drops the final [SEP]; Python keeps it), so Node and the trainer agree.
 */
import * as ort from "onnxruntime-node";
import type { PreTrainedTokenizer } from "@huggingface/transformers";

export function bertInputs(tokenizer: PreTrainedTokenizer, texts: string[], maxLength: number): Record<"input_ids" | "attention_mask", ort.Tensor> {
  const sepId = tokenizer.sep_token_id ?? 102;
  const padId = tokenizer.pad_token_id ?? 0;
  const rows = texts.map((t) => {
    const ids = tokenizer.encode(t);
    return ids.length <= maxLength ? ids : [...ids.slice(0, maxLength - 1), sepId];
  });
  const width = Math.max(...rows.map((r) => r.length));
  const inputIds = new BigInt64Array(rows.length * width).fill(BigInt(padId));
  const mask = new BigInt64Array(rows.length * width);
  rows.forEach((r, i) =>
    r.forEach((id, j) => {
      inputIds[i * width + j] = BigInt(id);
      mask[i * width + j] = 1n;
    }),
  );
  return {
    input_ids: new ort.Tensor("int64", inputIds, [rows.length, width]),
    attention_mask: new ort.Tensor("int64", mask, [rows.length, width]),
  };
}
