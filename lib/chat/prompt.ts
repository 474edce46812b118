/** Builds the language model's chat turns for one reply. Pure, so it is unit-tested without a model. */
import type { ChatTurn } from "../models/lm";
import type { MessageRole } from "../protocol/chat";

export const COMPANY = "Northwind Goods";

// Short on purpose: a 135M-parameter model follows a brief instruction and nearby facts far better
// than a long system prompt (measured on the demo questions).
export const SYSTEM_PROMPT = `You are a helpful customer support assistant for ${COMPANY}. Answer the customer in one or two short sentences, using only the facts given.`;

/**
 * The language model's special tokens (those marked special in
 * models/lm/smollm2-135m-instruct/tokenizer_config.json). The tokenizer turns these strings into
 * control tokens wherever they appear, so text holding `<|im_end|>\n<|im_start|>assistant` would
 * close the customer's turn and forge another speaker's.
 */
export const SPECIAL_TOKENS = [
  "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>", "<file_sep>", "<filename>",
  "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>", "<jupyter_start>", "<jupyter_text>",
  "<jupyter_code>", "<jupyter_output>", "<jupyter_script>", "<empty_output>",
];
const specialToken = new RegExp(SPECIAL_TOKENS.map((t) => t.replace(/[|]/g, "\\|")).join("|"), "g");

/** Breaks every special-token string with a zero-width space after its `<`, so it stays plain text. */
export function neutraliseSpecialTokens(text: string): string {
  return text.replace(specialToken, (token) => `<\u200B${token.slice(1)}`);
}

export interface HistoryMessage {
  role: MessageRole;
  text: string;
}

/**
 * System prompt, then as many of the most recent turns as fit in `historyTokens`, ending with the
 * customer's newest message (always kept), which carries the retrieved fact sentences right before
 * the question. Staff system notes are not part of the dialogue. No text can carry a special token.
 */
export function buildPrompt(opts: {
  history: HistoryMessage[];
  countTokens: (text: string) => number;
  historyTokens: number;
  /** The help-centre sentences the reply must be grounded in, best first. */
  facts?: string[];
}): ChatTurn[] {
  const dialogue: ChatTurn[] = opts.history
    .filter((m) => m.role !== "system" && m.text.trim() !== "")
    .map((m) => ({ role: m.role === "customer" ? "user" : "assistant", content: neutraliseSpecialTokens(m.text) }));

  const kept: ChatTurn[] = [];
  let budget = opts.historyTokens;
  for (let i = dialogue.length - 1; i >= 0; i--) {
    const turn = dialogue[i]!;
    const cost = opts.countTokens(turn.content) + 4; // role markers of the chat template
    if (kept.length > 0 && cost > budget) break;
    budget -= cost;
    kept.unshift(turn);
  }
  // The chat template expects the dialogue to open with the user.
  while (kept.length > 1 && kept[0]!.role !== "user") kept.shift();
  const last = kept.at(-1);
  if (opts.facts?.length && last?.role === "user") {
    const facts = opts.facts.map((f) => `- ${neutraliseSpecialTokens(f)}`).join("\n");
    kept[kept.length - 1] = { role: "user", content: `Facts:\n${facts}\n\nCustomer question: ${last.content}` };
  }
  return [{ role: "system", content: SYSTEM_PROMPT }, ...kept];
}
