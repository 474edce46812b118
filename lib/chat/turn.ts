/**
 * One chat turn, start to finish: validate → persist the customer's message (and acknowledge) →
 * classify → decide → retrieve the help-centre facts → generate (queued, checked sentence by sentence,
 * streamed) → persist the reply with its grounding → broadcast. A click on a clarifying question
 * answers the clarified message the same way.
 */
import { randomUUID } from "node:crypto";
import type { Server } from "socket.io";
import { config } from "../config";
import { listMessages, saveClassification, storeCustomerMessage, toChatMessage, groundingOf, updateConversationAfterDecision } from "../db/conversations";
import { storeClarification } from "../db/customer-feedback";
import { rankSentencesByText } from "../db/knowledge";
import { createBotReply, finishBotReply } from "../db/replies";
import { retryWhileDatabaseUnavailable } from "../db/retry";
import { MIN_FACT_SCORE, retrieve, type RankedFact } from "../knowledge/retrieve";
import { log } from "../log";
import { metrics, recordLmReply } from "../metrics";
import { classifier, encoder, knowledge, languageModel } from "../models/registry";
import { type ClarifyAck, type ClarifyPayload, type ReplyGrounding, type ReplySource, type SendAck, type SendPayload, validateText } from "../protocol/chat";
import { ErrorCode } from "../protocol/errors";
import { conversationEmitter, type ConversationEmitter } from "./broadcast";
import { decide, replyDecision, TEMPLATE_REPLIES, templateReply, type Decision } from "./decide";
import { queueGeneration } from "./generation-queue";
import { writeGroundedReply, type GroundedReply } from "./grounded-reply";
import { buildPrompt } from "./prompt";
import { finishWithTemplate, releaseReply, ReplyProgress, replyWithTemplate, trackReply } from "./replies";

/** A reply is at most this many sentences: a 135M model's later sentences are rarely worth reading. */
const MAX_REPLY_SENTENCES = 2;

const STORE_REFUSALS = {
  conversation_closed: { code: ErrorCode.conversationClosed, message: "This conversation is closed; start a new one." },
  conversation_full: { code: ErrorCode.conversationFull, message: "This conversation has reached its length limit; please start a new chat." },
  unknown_conversation: { code: ErrorCode.unknownConversation, message: "No such conversation." },
} as const;

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
    maxMessages: config().MAX_CONVERSATION_MESSAGES,
  });
  if (!stored.ok) return ack({ ok: false, error: STORE_REFUSALS[stored.reason] });
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
  const classified = metrics().classifierLatency.startTimer();
  const prediction = await classifier().classify(message.text).finally(classified);
  await persist("save classification", () => saveClassification(message.id, prediction));
  if (conversation.status !== "bot") return; // staff own it: the bot stays silent

  // Decide, with the help centre's best match for the message as a second opinion.
  const [best] = await retrieve(knowledge(), encoder(), message.text, { intent: null, minScore: 0, textRank: rankText });
  const decision = decide(prediction, conversation.lowConfidenceStreak, config().intentThresholds, helpCentreTopics(), best ? knowledgeMatch(best) : null);
  const handoff = decision.action === "handoff";
  const status = await persist("update conversation", () => updateConversationAfterDecision(conversationId, decision.lowConfidenceStreak, handoff));
  if (status !== "bot" && !handoff) return; // taken over by staff while this message was being classified
  if (decision.action === "answer") return answerFromHelpCentre(emit, { customerId, message, intent: decision.intent, kind: "reply" });
  const replied = await replyWithTemplate(emit, {
    conversationId,
    replyToId: message.id,
    text: templateReply(decision),
    decision: replyDecision(decision),
    grounding: { sources: [], ...(decision.action === "clarify" ? { clarify: clarifyOptions(decision.intents) } : {}) },
  });
  if (replied && handoff) emit("chat:status", { conversationId, status });
}

/**
 * The customer picked an option of a clarifying question: the pick is stored as a label of the
 * question's message (training data, like a staff label), then the question is answered as that
 * intent. Once per clarifying question; only the customer's own, with an offered intent.
 */
export async function answerClarification(io: Server, customerId: string, payload: ClarifyPayload, ack: (r: ClarifyAck) => void): Promise<void> {
  const stored = await storeClarification(payload.messageId, customerId, payload.intent, languageModel().version);
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

function knowledgeMatch(fact: RankedFact) {
  return { intent: knowledge().articles.find((a) => a.slug === fact.article.slug)?.intent ?? null, score: fact.score };
}

/** The options of a clarifying question, by the articles' customer-facing titles. */
function clarifyOptions(intents: Extract<Decision, { action: "clarify" }>["intents"]) {
  const articles = knowledge().articles;
  return intents.map((intent) => ({ intent, title: articles.find((a) => a.intent === intent)?.title ?? intent }));
}

/** The articles a reply's sent sentences rest on: all its facts if the model's words passed, else those quoted. */
function sourcesOf(reply: GroundedReply): ReplySource[] {
  const sent = new Set(reply.check.sentences.some((s) => s.sent) ? reply.check.facts.map((f) => f.id) : reply.check.quoted);
  const articles = new Map(reply.check.facts.filter((f) => sent.has(f.id)).map((f) => [f.article.slug, f.article.title]));
  return [...articles].map(([slug, title]) => ({ slug, title, url: `/help/${slug}` }));
}

/**
 * Answers a customer message from the help centre: retrieve the facts → generate, queued behind other
 * customers' replies, checked sentence by sentence and streamed → persist with its grounding → done.
 */
async function answerFromHelpCentre(
  emit: ConversationEmitter,
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

  // Retrieve the facts the reply is grounded in; the models and index are held for the whole turn.
  const lm = languageModel();
  const index = knowledge();
  // A topic the customer picked is answered from that topic's articles (any article if none has a match).
  const search = (onlyIntent: boolean) =>
    retrieve(index, encoder(), message.text, { intent: turn.intent, minScore: MIN_FACT_SCORE, textRank: rankText, onlyIntent });
  let facts = await search(turn.kind === "clarified");
  if (facts.length === 0 && turn.kind === "clarified") facts = await search(false);
  if (facts.length === 0) {
    const noFacts = { text: TEMPLATE_REPLIES.no_facts, grounding: { sources: [] } };
    if (turn.reply) return finishWithTemplate(emit, { conversationId, replyId: turn.reply.id, replyToId: message.id, ...noFacts });
    await replyWithTemplate(emit, { conversationId, replyToId: message.id, decision: "no_facts", ...noFacts });
    return;
  }
  let reply = turn.reply;
  if (!reply) {
    const created = await persist("create reply", () => createBotReply(conversationId, message.id, lm.version, "answer", randomUUID(), turn.kind));
    if (!created.created) return;
    reply = created.message;
    metrics().decisions.inc({ decision: "answer" });
  }
  const replyId = reply.id;

  // Generate, queued behind other customers' replies; the customer sees "typing" meanwhile.
  const stopper = trackReply(replyId, conversationId);
  const progress = new ReplyProgress(replyId);
  let streamed = "";
  emit("chat:typing", { conversationId, messageId: replyId, replyToId: message.id, queued: true });
  let result: GroundedReply;
  try {
    result = await queueGeneration(customerId, async () => {
      emit("chat:typing", { conversationId, messageId: replyId, replyToId: message.id, queued: false });
      const history = await persist("read history", () => listMessages(conversationId, 40));
      const turns = buildPrompt({
        // Clarifying questions are the bot asking, not dialogue the model should continue.
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
    metrics().replies.inc({ outcome: "failed" });
    emit("chat:error", {
      code: ErrorCode.generationFailed,
      message: "Sorry, the assistant could not answer. Please try again.",
      conversationId,
      messageId: replyId,
    });
    return;
  } finally {
    releaseReply(replyId);
  }

  // Persist, then broadcast the final text.
  await progress.settled();
  const grounding: ReplyGrounding = { sources: sourcesOf(result), check: result.check, ...(turn.kind === "clarified" ? { clarifiedIntent: turn.intent } : {}) };
  await persist("finish reply", () => finishBotReply(replyId, { ...result, grounding, status: result.stopped ? "stopped" : "complete" }));
  recordLmReply(result);
  emit("chat:done", { conversationId, messageId: replyId, text: result.text, stopped: result.stopped, sources: grounding.sources, clarify: null });
}
