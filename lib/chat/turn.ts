/**
 * One chat turn, start to finish: validate → persist the customer's message (and acknowledge) →
 * classify → decide → retrieve → generate (queued, streamed) → persist the reply → broadcast.
 */
import { randomUUID } from "node:crypto";
import type { Server } from "socket.io";
import { config } from "../config";
import {
  knowledgeArticle,
  listMessages,
  saveClassification,
  storeCustomerMessage,
  toChatMessage,
  updateConversationAfterDecision,
} from "../db/conversations";
import { createBotReply, finishBotReply } from "../db/replies";
import { retryWhileDatabaseUnavailable } from "../db/retry";
import { log } from "../log";
import type { GenerationResult } from "../models/lm";
import { classifier, languageModel } from "../models/registry";
import { ErrorCode } from "../protocol/errors";
import { type SendAck, type SendPayload, validateText } from "../protocol/chat";
import { conversationEmitter } from "./broadcast";
import { decide, replyDecision, templateReply } from "./decide";
import { generationQueueFull, queueGeneration } from "./generation-queue";
import { buildPrompt } from "./prompt";
import { holdingWhitespace, releaseReply, ReplyProgress, replyWithTemplate, trackReply } from "./replies";

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
  // A resend: the original send handles the rest of this turn, unless it died before classifying the
  // message (its commit's answer lost with the connection). Each step below is idempotent.
  if (duplicate && message.classifierVersion !== null) return;
  // From here on the message is acknowledged: each database step waits out an outage rather than
  // losing the turn.
  const persist = retryWhileDatabaseUnavailable;

  const emit = conversationEmitter(io, customerId, conversationId);
  emit("chat:message", toChatMessage(message));

  // Classify: every customer message, whoever owns the conversation, so staff see the intent.
  const prediction = await classifier().classify(message.text);
  await persist("save classification", () => saveClassification(message.id, prediction));
  if (conversation.status !== "bot") return; // staff own it: the bot stays silent

  // Decide.
  const decision = decide(prediction, conversation.lowConfidenceStreak, config().intentThresholds);
  const handoff = decision.action === "handoff";
  const status = await persist("update conversation", () => updateConversationAfterDecision(conversationId, decision.lowConfidenceStreak, handoff));
  if (status !== "bot" && !handoff) return; // taken over by staff while this message was being classified
  if (decision.action !== "answer") {
    const replied = await replyWithTemplate(emit, {
      conversationId,
      replyToId: message.id,
      text: templateReply(decision),
      decision: replyDecision(decision),
    });
    if (replied && handoff) emit("chat:status", { conversationId, status });
    return;
  }
  if (generationQueueFull()) {
    emit("chat:error", { code: ErrorCode.busy, message: "We are very busy right now; please try again in a moment.", conversationId });
    return;
  }

  // Retrieve the knowledge the reply is grounded in; the model object is held for the whole turn.
  const article = await persist("read knowledge", () => knowledgeArticle(decision.intent));
  const lm = languageModel();
  const replyId = randomUUID();
  const { message: reply, created } = await persist("create reply", () => createBotReply(conversationId, message.id, lm.version, "answer", replyId));
  if (!created) return;

  // Generate, queued behind other customers' replies; the customer sees "typing" meanwhile.
  const stopper = trackReply(reply.id, conversationId);
  const progress = new ReplyProgress(reply.id);
  emit("chat:typing", { conversationId, messageId: reply.id, replyToId: message.id, queued: true });
  let result: GenerationResult;
  try {
    result = await queueGeneration(customerId, async () => {
      emit("chat:typing", { conversationId, messageId: reply.id, replyToId: message.id, queued: false });
      const history = await persist("read history", () => listMessages(conversationId, 40));
      const turns = buildPrompt({
        history: history.filter((m) => m.id !== reply.id),
        countTokens: lm.countTokens,
        historyTokens: config().LM_HISTORY_TOKENS,
        knowledge: article,
      });
      return lm.generate(turns, {
        maxNewTokens: config().LM_MAX_NEW_TOKENS,
        stopper,
        onText: holdingWhitespace((text, streamed) => {
          emit("chat:token", { conversationId, messageId: reply.id, text, offset: streamed.length - text.length });
          progress.save(streamed);
        }),
      });
    });
  } catch (err) {
    log.error({ err, messageId: reply.id }, "generation failed");
    await progress.settled();
    await persist("finish reply", () => finishBotReply(reply.id, { text: "", status: "failed", timeToFirstTokenMs: null, tokenCount: 0, generationMs: 0 }));
    emit("chat:error", {
      code: ErrorCode.generationFailed,
      message: "Sorry, the assistant could not answer. Please try again.",
      conversationId,
      messageId: reply.id,
    });
    return;
  } finally {
    releaseReply(reply.id);
  }

  // Persist, then broadcast the final text.
  await progress.settled();
  await persist("finish reply", () => finishBotReply(reply.id, { ...result, status: result.stopped ? "stopped" : "complete" }));
  emit("chat:done", { conversationId, messageId: reply.id, text: result.text, stopped: result.stopped });
}
