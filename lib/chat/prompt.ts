/** Builds the language model's chat turns for one reply. Pure, so it is unit-tested without a model. */
import type { ChatTurn } from "../models/lm";
import type { MessageRole } from "../protocol/chat";

export const COMPANY = "Northwind Goods";

// Short on purpose: a 135M-parameter model follows a brief instruction and nearby facts far better
// than a long system prompt (measured on the demo questions).
export const SYSTEM_PROMPT = `You are a helpful customer support assistant for ${COMPANY}. Answer the customer in one or two short sentences, using only the facts given.`;

export interface HistoryMessage {
  role: MessageRole;
  text: string;
}

/**
 * System prompt, then as many of the most recent turns as fit in `historyTokens`, ending with the
 * customer's newest message (always kept), which carries the retrieved fact sentences right before
 * the question. Staff system notes are not part of the dialogue.
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
    .map((m) => ({ role: m.role === "customer" ? "user" : "assistant", content: m.text }));

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
    const facts = opts.facts.map((f) => `- ${f}`).join("\n");
    kept[kept.length - 1] = { role: "user", content: `Facts:\n${facts}\n\nCustomer question: ${last.content}` };
  }
  return [{ role: "system", content: SYSTEM_PROMPT }, ...kept];
}
