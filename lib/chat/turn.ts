/**
 * One chat turn, start to finish: validate → persist the customer's message (and acknowledge) →
 * classify → decide → retrieve the help-centre facts → generate (queued, checked sentence by sentence,
 * streamed) → persist the reply with its grounding → broadcast. A click on a clarifying question
 * answers the clarified message the same way.
 */
import { randomUUID } from "node:crypto";
import type { Server } from "socket.io";
import { config } from "../config";
import { rankSentencesByText } from "../db/knowledge";
import { storeClarification } from "../db/customer-feedback";
import {
  createBotReply,
  finishBotReply,
  groundingOf,
  interruptAbandonedReplies,
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
import { retrieve } from "../knowledge/retrieve";
import { GenerationStopper } from "../models/lm";
import { classifier, encoder, knowledge, languageModel } from "../models/registry";
import {
  type ClarifyAck,
  type ClarifyOption,
  type ClarifyPayload,
  type ReplyGrounding,
  type ReplySource,
  type SendAck,
  type SendPayload,
  validateText,
} from "../protocol/chat";
import { ErrorCode } from "../protocol/errors";
import { conversationEmitter } from "./broadcast";
import { decide, TEMPLATE_REPLIES, templateReply, type Decision } from "./decide";
import { generationQueueFull, queueGeneration } from "./generation-queue";
import { writeGroundedReply, type GroundedReply } from "./grounded-reply";
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

/** The retrieved facts must be at least this relevant (encoder similarity plus bonuses) to answer from. */
const MIN_FACT_SCORE = 0.35;
/** A reply is at most this many sentences: a 135M model's later sentences are rarely worth reading. */
const MAX_REPLY_SENTENCES = 2;

type Emit = ReturnType<typeof conversationEmitter>;

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

  // Decide, with the help centre's best match for the message as a second opinion.
  const [best] = await retrieve(knowledge(), encoder(), message.text, { intent: null, minScore: 0, textRank: rankText });
  const match = best ? { intent: knowledge().articles.find((a) => a.slug === best.article.slug)?.intent ?? null, score: best.score } : null;
  const decision = decide(prediction, conversation.lowConfidenceStreak, config().intentThresholds, helpCentreTopics(), match);
  const handoff = decision.action === "handoff";
  const status = await persist("update conversation", () => updateConversationAfterDecision(conversationId, decision.lowConfidenceStreak, handoff));
  if (status !== "bot" && !handoff) return; // taken over by staff while this message was being classified
  if (decision.action === "answer") return answerFromHelpCentre(emit, { customerId, message, intent: decision.intent, kind: "reply" });
  const { message: reply, created } = await persist("create reply", () =>
    createBotReply(conversationId, message.id, TEMPLATE_MODEL_VERSION, randomUUID()),
  );
  if (!created) return;
  await replyWithTemplate(emit, { conversationId, id: reply.id, replyToId: message.id }, templateReply(decision), {
    sources: [],
    clarify: clarifyOptions(decision),
  });
  if (handoff) emit("chat:status", { conversationId, status });
}

/**
 * The customer picked an option of a clarifying question: the pick is stored as a label of the
 * question's message (training data, like a staff label), then the question is answered as that
 * intent. Once per clarifying question; only the customer's own, with an offered intent.
 */
export async function answerClarification(io: Server, customerId: string, payload: ClarifyPayload, ack: (r: ClarifyAck) => void): Promise<void> {
  const lm = languageModel();
  const stored = await storeClarification(payload.messageId, customerId, payload.intent, lm.version);
  if (!stored.ok) return ack({ ok: false, error: stored.error });
  ack({ ok: true, messageId: payload.messageId, intent: payload.intent });
  const { question, reply } = stored;
  const emit = conversationEmitter(io, customerId, question.conversationId);
  await answerFromHelpCentre(emit, { customerId, message: question, intent: payload.intent, kind: "clarified", reply });
}

const rankText = (message: string) => retryWhileDatabaseUnavailable("rank knowledge", () => rankSentencesByText(message));

/** The intents the help centre has an article for (the topics a clarifying question may offer). */
function helpCentreTopics(): Set<string> {
  return new Set(knowledge().articles.flatMap((a) => (a.intent ? [a.intent] : [])));
}

function clarifyOptions(decision: Exclude<Decision, { action: "answer" }>): ClarifyOption[] | undefined {
  if (decision.action !== "clarify") return undefined;
  const articles = knowledge().articles;
  return decision.intents.map((intent) => ({ intent, title: articles.find((a) => a.intent === intent)?.title ?? intent }));
}

function sourcesOf(reply: GroundedReply): ReplySource[] {
  const sent = new Set(reply.check.sentences.filter((s) => s.sent).length ? reply.check.facts.map((f) => f.id) : reply.check.quoted);
  const articles = new Map(reply.check.facts.filter((f) => sent.has(f.id)).map((f) => [f.article.slug, f.article.title]));
  return [...articles].map(([slug, title]) => ({ slug, title, url: `/help/${slug}` }));
}

/** A fixed reply: stored complete, then sent whole. */
async function replyWithTemplate(
  emit: Emit,
  reply: { conversationId: string; id: string; replyToId: string },
  text: string,
  grounding: ReplyGrounding,
): Promise<void> {
  const { conversationId, id: messageId, replyToId } = reply;
  emit("chat:typing", { conversationId, messageId, replyToId, queued: false });
  await retryWhileDatabaseUnavailable("finish reply", () =>
    finishBotReply(messageId, { text, status: "complete", timeToFirstTokenMs: 0, tokenCount: 0, generationMs: 0, grounding }),
  );
  emit("chat:token", { conversationId, messageId, text, offset: 0 });
  emit("chat:done", { conversationId, messageId, text, stopped: false, sources: grounding.sources, clarify: grounding.clarify ?? null });
}

/**
 * Answers a customer message from the help centre: retrieve the facts → generate, queued behind other
 * customers' replies, checked sentence by sentence and streamed → persist with its grounding → done.
 */
async function answerFromHelpCentre(
  emit: Emit,
  turn: {
    customerId: string;
    message: { id: string; conversationId: string; text: string };
    intent: string;
    kind: "reply" | "clarified";
    /** Already created (a clarification creates it to answer once). */
    reply?: { id: string };
  },
): Promise<void> {
  const persist = retryWhileDatabaseUnavailable;
  const { customerId, message } = turn;
  const conversationId = message.conversationId;
  if (generationQueueFull()) {
    emit("chat:error", { code: ErrorCode.busy, message: "We are very busy right now; please try again in a moment.", conversationId });
    return;
  }

  // Retrieve the facts the reply is grounded in; the models and index are held for the whole turn.
  const lm = languageModel();
  const index = knowledge();
  // A topic the customer picked is answered from that topic's articles (any article if none has a match).
  const search = (onlyIntent: boolean) =>
    retrieve(index, encoder(), message.text, { intent: turn.intent, minScore: MIN_FACT_SCORE, textRank: rankText, onlyIntent });
  let facts = await search(turn.kind === "clarified");
  if (facts.length === 0 && turn.kind === "clarified") facts = await search(false);
  let reply = turn.reply;
  if (!reply) {
    const created = await persist("create reply", () =>
      createBotReply(conversationId, message.id, facts.length ? lm.version : TEMPLATE_MODEL_VERSION, randomUUID(), turn.kind),
    );
    if (!created.created) return;
    reply = created.message;
  }
  const replyId = reply.id;
  if (facts.length === 0) {
    return replyWithTemplate(emit, { conversationId, id: replyId, replyToId: message.id }, TEMPLATE_REPLIES.no_facts, { sources: [] });
  }

  // Generate, queued behind other customers' replies; the customer sees "typing" meanwhile.
  const stopper = new GenerationStopper();
  const progress = new ReplyProgress(replyId);
  let streamed = "";
  activeReplies.set(replyId, stopper);
  activeReplyConversations.set(replyId, conversationId);
  emit("chat:typing", { conversationId, messageId: replyId, replyToId: message.id, queued: true });
  let result: GroundedReply;
  try {
    result = await queueGeneration(customerId, async () => {
      emit("chat:typing", { conversationId, messageId: replyId, replyToId: message.id, queued: false });
      const history = await persist("read history", () => listMessages(conversationId, 40));
      const turns = buildPrompt({
        history: history.filter((m) => m.id !== replyId && (m.role !== "bot" || !groundingOf(m)?.clarify)),
        countTokens: lm.countTokens,
        historyTokens: config().LM_HISTORY_TOKENS,
        facts: facts.map((f) => f.text),
      });
      return writeGroundedReply({
        lm,
        encoder: encoder(),
        question: message.text,
        facts,
        turns,
        maxNewTokens: config().LM_MAX_NEW_TOKENS,
        maxSentences: MAX_REPLY_SENTENCES,
        stopper,
        emit: (text) => {
          emit("chat:token", { conversationId, messageId: replyId, text, offset: streamed.length });
          streamed += text;
          progress.save(streamed);
        },
      });
    });
  } catch (err) {
    log.error({ err, messageId: replyId }, "generation failed");
    await progress.settled();
    await persist("finish reply", () => finishBotReply(replyId, { text: "", status: "failed", timeToFirstTokenMs: null, tokenCount: 0, generationMs: 0 }));
    emit("chat:error", {
      code: ErrorCode.generationFailed,
      message: "Sorry, the assistant could not answer. Please try again.",
      conversationId,
      messageId: replyId,
    });
    return;
  } finally {
    activeReplies.delete(replyId);
    activeReplyConversations.delete(replyId);
  }

  // Persist, then broadcast the final text.
  await progress.settled();
  const grounding: ReplyGrounding = { sources: sourcesOf(result), check: result.check, ...(turn.kind === "clarified" ? { clarifiedIntent: turn.intent } : {}) };
  await persist("finish reply", () => finishBotReply(replyId, { ...result, grounding, status: result.stopped ? "stopped" : "complete" }));
  emit("chat:done", { conversationId, messageId: replyId, text: result.text, stopped: result.stopped, sources: grounding.sources, clarify: null });
}
