/**
 * One chat turn, start to finish: validate → persist the customer's message (and acknowledge) →
 * classify → decide → retrieve → generate (queued, streamed) → persist the reply → broadcast.
 */
import { randomUUID } from "node:crypto";
import type { Server } from "socket.io";
import { config } from "../config";
import {
  createBotReply,
  finishBotReply,
  interruptAbandonedReplies,
  knowledgeArticle,
  listMessages,
  retryWhileDatabaseUnavailable,
  saveClassification,
  saveReplyProgress,
  storeCustomerMessage,
  toChatMessage,
  touchStreamingReplies,
  updateConversationAfterDecision,
} from "../db/queries";
import { log } from "../log";
import { GenerationStopper, type GenerationResult } from "../models/lm";
import { classifier, languageModel } from "../models/registry";
import { ErrorCode } from "../protocol/errors";
import { type SendAck, type SendPayload, validateText } from "../protocol/chat";
import { conversationEmitter } from "./broadcast";
import { decide, templateReply } from "./decide";
import { generationQueueFull, queueGeneration } from "./generation-queue";
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

/** A streaming reply's text is stored at most this often, for clients that reconnect mid-reply. */
const PROGRESS_INTERVAL_MS = 300;

/**
 * Stores a streaming reply's text as it grows: at most every PROGRESS_INTERVAL_MS and one write at a
 * time, best effort (the final text is stored by finishBotReply, with retries).
 */
class ReplyProgress {
  private lastWrite = 0;
  private inFlight: Promise<void> | null = null;

  constructor(private readonly messageId: string) {}

  save(text: string): void {
    if (this.inFlight || Date.now() - this.lastWrite < PROGRESS_INTERVAL_MS) return;
    this.lastWrite = Date.now();
    this.inFlight = saveReplyProgress(this.messageId, text)
      .catch((err: unknown) => log.warn({ err, messageId: this.messageId }, "could not store a reply's progress"))
      .finally(() => (this.inFlight = null));
  }

  /** Waits for a write in flight, so it cannot land after the final text. */
  async settled(): Promise<void> {
    await this.inFlight;
  }
}

/** A streaming reply whose heartbeat is older than this was left by a dead process. */
const ABANDONED_AFTER_MS = 20_000;
/** How often this process renews the heartbeat of its replies, and looks for abandoned ones. */
const HEARTBEAT_INTERVAL_MS = 5_000;
const SWEEP_INTERVAL_MS = 10_000;

/**
 * Keeps the replies this process generates (or has queued) marked alive, and marks replies left
 * streaming by a dead process (a crash, SIGKILL) as interrupted: at startup and then periodically,
 * as another instance may die while this one runs. Customers watching get the interrupted reply.
 */
export function startReplyWatch(io: Server): void {
  const sweep = () =>
    interruptAbandonedReplies(ABANDONED_AFTER_MS, [...activeReplies.keys()]).then(
      (replies) => {
        for (const { message, customerId } of replies) {
          log.warn({ messageId: message.id }, "reply interrupted: the process generating it is gone");
          conversationEmitter(io, customerId, message.conversationId)("chat:message", toChatMessage(message));
        }
      },
      (err: unknown) => log.warn({ err }, "could not look for interrupted replies"),
    );
  void sweep();
  setInterval(() => void sweep(), SWEEP_INTERVAL_MS).unref();
  setInterval(
    () => void touchStreamingReplies([...activeReplies.keys()]).catch((err: unknown) => log.warn({ err }, "reply heartbeat failed")),
    HEARTBEAT_INTERVAL_MS,
  ).unref();
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
    const replyId = randomUUID();
    const { message: reply, created } = await persist("create reply", () => createBotReply(conversationId, message.id, TEMPLATE_MODEL_VERSION, replyId));
    if (!created) return;
    const text = templateReply(decision);
    emit("chat:typing", { conversationId, messageId: reply.id, replyToId: message.id, queued: false });
    await persist("finish reply", () => finishBotReply(reply.id, { text, status: "complete", timeToFirstTokenMs: 0, tokenCount: 0, generationMs: 0 }));
    emit("chat:token", { conversationId, messageId: reply.id, text, offset: 0 });
    emit("chat:done", { conversationId, messageId: reply.id, text, stopped: false });
    if (handoff) emit("chat:status", { conversationId, status });
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
  const { message: reply, created } = await persist("create reply", () => createBotReply(conversationId, message.id, lm.version, replyId));
  if (!created) return;

  // Generate, queued behind other customers' replies; the customer sees "typing" meanwhile.
  const stopper = new GenerationStopper();
  const progress = new ReplyProgress(reply.id);
  let streamed = "";
  let heldWhitespace = "";
  activeReplies.set(reply.id, stopper);
  activeReplyConversations.set(reply.id, conversationId);
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
        onText: (piece) => {
          // The streamed text is kept equal to the stored one, which is trimmed: leading whitespace is
          // dropped, trailing whitespace held back until more text follows it.
          const combined = streamed ? heldWhitespace + piece : piece.trimStart();
          const text = combined.trimEnd();
          heldWhitespace = combined.slice(text.length);
          if (!text) return;
          emit("chat:token", { conversationId, messageId: reply.id, text, offset: streamed.length });
          streamed += text;
          progress.save(streamed);
        },
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
    activeReplies.delete(reply.id);
    activeReplyConversations.delete(reply.id);
  }

  // Persist, then broadcast the final text.
  await progress.settled();
  await persist("finish reply", () => finishBotReply(reply.id, { ...result, status: result.stopped ? "stopped" : "complete" }));
  emit("chat:done", { conversationId, messageId: reply.id, text: result.text, stopped: result.stopped });
}
