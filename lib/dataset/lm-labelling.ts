/**
 * Staff turning a transcript into language-model training data, behind /api/staff/messages/[id]/lm-example
 * and /api/staff/lm-examples/[id]: the right answer for a bot reply marked Bad, or an agent's own reply.
 * Each example is validated here (lib/dataset/lm-example.ts) and refused with a clear 400, never dropped
 * later; every change is audited.
 */
import { config } from "../config";
import { ApiError } from "../http";
import type { StaffIdentity } from "../auth/roles";
import { audit } from "../db/audit";
import { rankSentencesByText } from "../db/knowledge";
import { answeredTurn, deleteLmExample, findLmExample, saveLmExample, toStaffLmExample, updateLmExampleAnswer, type AnsweredTurn } from "../db/lm-examples";
import { MIN_FACT_SCORE, retrieve } from "../knowledge/retrieve";
import { loadLmRenderer } from "../models/lm-tokenizer";
import { encoder, knowledge } from "../models/registry";
import type { StaffLmExample } from "../protocol/staff";
import { redactPersonalData } from "./redact";
import { describeProblems, lmExampleProblems, storedExample, withoutPersonalData, type LmExampleInput } from "./lm-example";

/** A saved example, and its conversation for the caller to tell the staff watching it. */
export interface Saved {
  example: StaffLmExample;
  conversationId: string;
}

const notFound = () => new ApiError(404, "not_found", "No such bot reply or agent message.");

/** Refuses an example that may not be trained on, naming every problem. */
async function validate(example: LmExampleInput): Promise<void> {
  const renderer = await loadLmRenderer(config().LOOPDESK_MODELS_DIR, config().LM_HISTORY_TOKENS);
  const problems = lmExampleProblems(example, renderer);
  if (problems.length > 0) throw new ApiError(400, "invalid_example", `Not usable for training: ${describeProblems(problems)}.`);
}

/**
 * The facts an agent's reply rests on: what serving's retrieval finds for the customer message it
 * answers (the same retrieval, intent preference and relevance floor as a bot reply to it).
 */
async function retrievedFacts(turn: AnsweredTurn): Promise<string[]> {
  const facts = await retrieve(knowledge(), encoder(), turn.question.text, {
    intent: turn.intent,
    minScore: MIN_FACT_SCORE,
    textRank: rankSentencesByText,
  });
  return facts.map((f) => f.text);
}

/**
 * Saves the example a bot reply (marked Bad, with the right `answer`) or an agent's message (its own
 * text unless `answer` is given) makes; saving again replaces the answer.
 */
export async function saveExampleFromMessage(messageId: string, answer: string | undefined, staff: StaffIdentity): Promise<Saved> {
  const turn = await answeredTurn(messageId);
  if (!turn) throw notFound();
  const { source } = turn;
  let facts = turn.facts;
  if (source.role === "bot") {
    if (source.feedback !== "bad") throw new ApiError(409, "not_marked_bad", "Mark the reply Bad before writing the right answer.");
    if (answer === undefined) throw new ApiError(400, "invalid_example", "Not usable for training: write the right answer.");
    if (facts.length === 0) throw new ApiError(409, "not_grounded", "This reply was not grounded in help-centre facts, so it cannot become a training example.");
  } else {
    facts = await retrievedFacts(turn);
    if (facts.length === 0) throw new ApiError(409, "not_grounded", "No help-centre sentence answers the customer's message, so this reply cannot become a training example.");
  }
  // Stored as it will be trained on: personal data replaced (the transcript keeps the original).
  const example = withoutPersonalData({ facts, history: turn.history, question: turn.question.text, answer: (answer ?? source.text).trim() });
  await validate(example);
  const saved = await saveLmExample({
    ...example,
    origin: source.role === "bot" ? "staff_correction" : "agent_reply",
    approvedById: staff.id,
    sourceMessageId: source.id,
    conversationId: source.conversationId,
    intent: turn.intent,
  });
  await audit(staff.email, "lm_example.save", `lm-example:${saved.id}`, { origin: saved.origin, messageId: source.id });
  return { example: toStaffLmExample(saved), conversationId: saved.conversationId };
}

export async function editExample(id: string, answer: string, staff: StaffIdentity): Promise<Saved> {
  const existing = await findLmExample(id);
  if (!existing) throw new ApiError(404, "not_found", "No such training example.");
  const trimmed = redactPersonalData(answer.trim());
  await validate({ ...storedExample(existing), answer: trimmed });
  const saved = await updateLmExampleAnswer(id, trimmed, staff.id);
  if (!saved) throw new ApiError(404, "not_found", "No such training example.");
  await audit(staff.email, "lm_example.edit", `lm-example:${id}`);
  return { example: toStaffLmExample(saved), conversationId: saved.conversationId };
}

/** Removes an example; the conversation it came from, for the caller to tell its watchers. */
export async function removeExample(id: string, staff: StaffIdentity): Promise<{ conversationId: string }> {
  const removed = await deleteLmExample(id);
  if (!removed) throw new ApiError(404, "not_found", "No such training example.");
  await audit(staff.email, "lm_example.delete", `lm-example:${id}`, { origin: removed.origin, messageId: removed.sourceMessageId });
  return { conversationId: removed.conversationId };
}
