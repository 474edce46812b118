/**
 * One chat turn, start to finish: validate → persist the customer's message (and acknowledge) →
 * classify → decide → retrieve → generate (queued, streamed) → persist the reply → broadcast.
 */
import type { Server } from "socket.io";
import { config } from "../config";
import {
  createBotReply,
  finishBotReply,
  knowledgeArticle,
  listMessages,
  saveClassification,
  storeCustomerMessage,
  toChatMessage,
  updateConversationAfterDecision,
} from "../db/queries";
import { log } from "../log";
import { GenerationStopper, type GenerationResult } from "../models/lm";
import { classifier, languageModel } from "../models/registry";
import { ErrorCode, type SendAck, type SendPayload, validateText } from "../protocol";
import { conversationEmitter } from "./broadcast";
import { decide, templateReply } from "./decide";
import { generationQueue, generationQueueFull } from "./generation-queue";
import { buildPrompt } from "./prompt";

/** Replies being generated (or queued) in this process, by bot message id, so Stop can reach them. */
const activeReplies = new Map<string, GenerationStopper>();

/** The conversation of each active reply, so a take over can stop the bot mid-answer. */
const activeReplyConversations = new Map<string, string>();

/** Stops a reply if this process is generating it; returns whether it was found here. */
export function stopReply(messageId: string): boolean {
  const stopper = activeReplies.get(messageId);
  stopper?.interrupt();
  return stopper !== undefined;
}

/** Stops every reply this process is generating (or has queued) in a conversation; returns how many. */
export function stopConversationReplies(conversationId: string): number {
  let n = 0;
  for (const [messageId, id] of activeReplyConversations) if (id === conversationId && stopReply(messageId)) n++;
  return n;
}

/** Bot messages written from a template rather than by the language model carry this version. */
export const TEMPLATE_MODEL_VERSION = "template";

export async function runCustomerTurn(
  io: Server,
  customerId: string,
  payload: SendPayload,
  ack: (r: SendAck) => void,
): Promise<void> {
  const valid = validateText(payload.text);
  if (!valid.ok) return ack(valid);

  // Persist: the customer's message is committed before anything else happens to it.
  const stored = await storeCustomerMessage({
    customerId,
    conversationId: payload.conversationId,
    clientMessageId: payload.clientMessageId,
    text: valid.text,
  });
  if (!stored.ok) {
    const error =
      stored.reason === "conversation_closed"
        ? { code: ErrorCode.conversationClosed, message: "This conversation is closed; start a new one." }
        : { code: ErrorCode.unknownConversation, message: "No such conversation." };
    return ack({ ok: false, error });
  }
  const { message, conversation, duplicate } = stored;
  const conversationId = conversation.id;
  ack({ ok: true, conversationId, messageId: message.id });
  if (duplicate) return; // the original send handles the rest of this turn

  const emit = conversationEmitter(io, customerId, conversationId);
  emit("chat:message", toChatMessage(message));

  // Classify: every customer message, whoever owns the conversation, so staff see the intent.
  const prediction = await classifier().classify(message.text);
  await saveClassification(message.id, prediction);
  if (conversation.status !== "bot") return; // staff own it: the bot stays silent

  // Decide.
  const decision = decide(prediction, conversation.lowConfidenceStreak, config().intentThresholds);
  const handoff = decision.action === "handoff";
  const status = await updateConversationAfterDecision(conversationId, decision.lowConfidenceStreak, handoff);
  if (status !== "bot" && !handoff) return; // taken over by staff while this message was being classified
  if (decision.action !== "answer") {
    const { message: reply, created } = await createBotReply(conversationId, message.id, TEMPLATE_MODEL_VERSION);
    if (!created) return;
    const text = templateReply(decision);
    emit("chat:typing", { conversationId, messageId: reply.id, replyToId: message.id, queued: false });
    await finishBotReply(reply.id, { text, status: "complete", timeToFirstTokenMs: 0, tokenCount: 0, generationMs: 0 });
    emit("chat:token", { conversationId, messageId: reply.id, text });
    emit("chat:done", { conversationId, messageId: reply.id, text, stopped: false });
    if (handoff) emit("chat:status", { conversationId, status });
    return;
  }
  if (generationQueueFull()) {
    emit("chat:error", { code: ErrorCode.busy, message: "We are very busy right now; please try again in a moment.", conversationId });
    return;
  }

  // Retrieve the knowledge the reply is grounded in; the model object is held for the whole turn.
  const article = await knowledgeArticle(decision.intent);
  const lm = languageModel();
  const { message: reply, created } = await createBotReply(conversationId, message.id, lm.version);
  if (!created) return;

  // Generate, queued behind other customers' replies; the customer sees "typing" meanwhile.
  const stopper = new GenerationStopper();
  activeReplies.set(reply.id, stopper);
  activeReplyConversations.set(reply.id, conversationId);
  emit("chat:typing", { conversationId, messageId: reply.id, replyToId: message.id, queued: true });
  let result: GenerationResult;
  try {
    result = await generationQueue().add(async () => {
      emit("chat:typing", { conversationId, messageId: reply.id, replyToId: message.id, queued: false });
      const history = await listMessages(conversationId, 40);
      const turns = buildPrompt({
        history: history.filter((m) => m.id !== reply.id),
        countTokens: lm.countTokens,
        historyTokens: config().LM_HISTORY_TOKENS,
        knowledge: article,
      });
      return lm.generate(turns, {
        maxNewTokens: config().LM_MAX_NEW_TOKENS,
        stopper,
        onText: (text) => emit("chat:token", { conversationId, messageId: reply.id, text }),
      });
    });
  } catch (err) {
    log.error({ err, messageId: reply.id }, "generation failed");
    await finishBotReply(reply.id, { text: "", status: "failed", timeToFirstTokenMs: null, tokenCount: 0, generationMs: 0 });
    emit("chat:error", {
      code: ErrorCode.generationFailed,
      message: "Sorry, the assistant could not answer. Please try again.",
      conversationId,
      messageId: reply.id,
    });
    return;
  } finally {
    activeReplies.delete(reply.id);
    activeReplyConversations.delete(reply.id);
  }

  // Persist, then broadcast the final text.
  await finishBotReply(reply.id, { ...result, status: result.stopped ? "stopped" : "complete" });
  emit("chat:done", { conversationId, messageId: reply.id, text: result.text, stopped: result.stopped });
}
