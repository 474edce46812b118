/**
 * One chat turn, start to finish: validate → persist the customer's message (and acknowledge) →
 * classify → decide → retrieve the help-centre facts → generate (queued, checked sentence by sentence,
 * streamed; or, when the queue is too long, the facts quoted at once) → persist the reply with its
 * grounding → broadcast. A click on a clarifying question answers the clarified message the same way.
 */
import { randomUUID } from "node:crypto";
import type { Server } from "socket.io";
import { config } from "../config";
import { listMessages, saveClassification, storeCustomerMessage, toChatMessage, groundingOf, updateConversationAfterDecision } from "../db/conversations";
import { storeClarification } from "../db/customer-feedback";
import { rankSentencesByText } from "../db/knowledge";
import { createBotReply, finishBotReply } from "../db/replies";
import { retryWhileDatabaseUnavailable } from "../db/retry";
import type { RankedFact } from "../knowledge/retrieve";
import { log } from "../log";
import { metrics, recordLmReply } from "../metrics";
import type { LanguageModel } from "../models/lm";
import { classifier, encoder, holdLanguageModel, knowledge, languageModel } from "../models/registry";
import { classifyInShadow } from "../models/shadow";
import { type ClarifyAck, type ClarifyPayload, type ReplyCheck, type ReplyGrounding, type SendAck, type SendPayload, validateText } from "../protocol/chat";
import { ErrorCode } from "../protocol/errors";
import { conversationEmitter, type ConversationEmitter } from "./broadcast";
import { assignWaiting } from "./handover";
import { decideReply, retrieveFacts, sourcesOf, writeReply, type Knowledge } from "./compose";
import { offlineHandoffReply, replyDecision, TEMPLATE_REPLIES, templateReply, type Decision } from "./decide";
import { supportAvailability } from "./follow-up";
import { askCluster, connectedStaff } from "./staff-online";
import { planGeneration, queueGeneration } from "./generation-queue";
import { quotedReply, type GroundedReply } from "./grounded-reply";
import { finishWithTemplate, releaseReply, ReplyProgress, replyWithTemplate, trackReply } from "./replies";

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
  if (stored.reopened) emit("chat:status", { conversationId, status: "waiting_for_agent" });

  // Classify: every customer message, whoever owns the conversation, so staff see the intent.
  const classified = metrics().classifierLatency.startTimer();
  const prediction = await classifier().classify(message.text).finally(classified);
  await persist("save classification", () => saveClassification(message.id, prediction));
  classifyInShadow(message, prediction); // a candidate in shadow sees it too, off this turn's path
  if (conversation.status !== "bot") return; // staff own it: the bot stays silent

  // Decide, with the help centre's best match for the message as a second opinion.
  const decision = await decideReply(helpCentre(), message.text, prediction, conversation.lowConfidenceStreak);
  const handoff = decision.action === "handoff";
  const status = await persist("update conversation", () => updateConversationAfterDecision(conversationId, decision.lowConfidenceStreak, handoff));
  if (status !== "bot" && !handoff) return; // taken over by staff while this message was being classified
  if (decision.action === "answer") return answerFromHelpCentre(emit, { customerId, message, intent: decision.intent, kind: "reply" });
  // A handoff no agent can take now says so and asks for an email address instead. The cluster is
  // asked once which staff have the console open; the assignment below uses the same answer.
  const connected = handoff ? await askCluster(connectedStaff(io)) : null;
  const support = handoff ? await persist("check support hours", () => supportAvailability(connected)) : null;
  const unavailable = support && !support.available ? support : null;
  const replied = await replyWithTemplate(emit, {
    conversationId,
    replyToId: message.id,
    text: decision.action === "handoff" && unavailable ? offlineHandoffReply(decision.reason, unavailable.reason, unavailable.hours) : templateReply(decision),
    decision: replyDecision(decision),
    grounding: {
      sources: [],
      ...(decision.action === "clarify" ? { clarify: clarifyOptions(decision.intents) } : {}),
      ...(unavailable ? { askEmail: true as const } : {}),
    },
  });
  if (replied && handoff) emit("chat:status", { conversationId, status });
  // An online agent gets it at once; with nobody online it waits in the queue. The customer's turn is
  // done either way: a failed assignment leaves it queued for the next one (an agent coming online).
  if (handoff) {
    await persist("assign handoff", () => assignWaiting(io, connected ?? undefined)).catch((err: unknown) => log.warn({ err, conversationId }, "handoff queued: assignment failed"));
  }
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

/** The help centre as this process retrieves from it now (held for a whole turn once taken). */
export function helpCentre(): Knowledge {
  return { encoder: encoder(), index: knowledge(), textRank: rankText };
}

/** The options of a clarifying question, by the articles' customer-facing titles. */
function clarifyOptions(intents: Extract<Decision, { action: "clarify" }>["intents"]) {
  const articles = knowledge().articles;
  return intents.map((intent) => ({ intent, title: articles.find((a) => a.intent === intent)?.title ?? intent }));
}


/**
 * Answers a customer message from the help centre: retrieve the facts → generate, queued behind other
 * customers' replies, checked sentence by sentence and streamed → persist with its grounding → done.
 * When the wait for generation is expected to pass LM_DEGRADE_WAIT_MS, the facts are quoted at once.
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
  const { message } = turn;
  const conversationId = message.conversationId;

  // Retrieve the facts the reply is grounded in; the models and index are held for the whole turn, the
  // language model until the reply is finished (a swap meanwhile releases the old one afterwards).
  const k = helpCentre();
  const facts = await retrieveFacts(k, message.text, turn.intent, turn.kind);
  if (facts.length === 0) {
    const noFacts = { text: TEMPLATE_REPLIES.no_facts, grounding: { sources: [] } };
    if (turn.reply) return finishWithTemplate(emit, { conversationId, replyId: turn.reply.id, replyToId: message.id, ...noFacts });
    await replyWithTemplate(emit, { conversationId, replyToId: message.id, decision: "no_facts", ...noFacts });
    return;
  }
  // Degrade, don't queue: when the model is too far off, the facts are quoted now.
  const plan = planGeneration();
  if (!plan.generate) return answerUnderLoad(emit, { ...turn, facts }, plan.underLoad);
  try {
    const held = holdLanguageModel();
    try {
      await answerWith(held.lm, k, emit, { ...turn, facts });
    } finally {
      held.release();
    }
  } finally {
    plan.release();
  }
}

type HelpCentreAnswer = Parameters<typeof answerFromHelpCentre>[1] & { facts: RankedFact[] };

/** What a help-centre answer is stored with: the articles it rests on, its check, the topic picked. */
function answerGrounding(turn: HelpCentreAnswer, check: ReplyCheck): ReplyGrounding {
  return { sources: sourcesOf(check), check, ...(turn.kind === "clarified" ? { clarifiedIntent: turn.intent } : {}) };
}

/** The answer without the model (its facts quoted), stored as decision `answer_degraded`, sent whole. */
async function answerUnderLoad(emit: ConversationEmitter, turn: HelpCentreAnswer, underLoad: NonNullable<ReplyCheck["underLoad"]>): Promise<void> {
  const { message } = turn;
  const { text, check } = quotedReply(turn.facts, underLoad);
  const reply = { conversationId: message.conversationId, replyToId: message.id, text, decision: "answer_degraded" as const, grounding: answerGrounding(turn, check) };
  if (turn.reply) await finishWithTemplate(emit, { ...reply, replyId: turn.reply.id });
  else if (!(await replyWithTemplate(emit, reply))) return;
  metrics().replyChecks.inc({ result: "quoted_under_load" });
}

/** The answer written by `lm` from the facts: create the reply → generate (queued, checked, streamed) → persist → done. */
async function answerWith(lm: LanguageModel, k: Knowledge, emit: ConversationEmitter, turn: HelpCentreAnswer): Promise<void> {
  const persist = retryWhileDatabaseUnavailable;
  const { customerId, message, facts } = turn;
  const conversationId = message.conversationId;
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
      return writeReply({
        lm,
        encoder: k.encoder,
        question: message.text,
        facts,
        // Clarifying questions are the bot asking, not dialogue the model should continue.
        history: history.filter((m) => m.id !== replyId && (m.role !== "bot" || !groundingOf(m)?.clarify)),
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
  const grounding = answerGrounding(turn, result.check);
  await persist("finish reply", () => finishBotReply(replyId, { ...result, grounding, status: result.stopped ? "stopped" : "complete" }));
  recordLmReply(result);
  emit("chat:done", { conversationId, messageId: replyId, text: result.text, stopped: result.stopped, sources: grounding.sources, clarify: null });
}
