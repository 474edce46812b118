/** Every database read and write of the chat path, in one place. */
import { createHash } from "node:crypto";
import { db } from "./client";
import { Prisma } from "../generated/prisma/client";
import type { Conversation, ConversationStatus as DbConversationStatus, Message } from "../generated/prisma/client";
import type { IntentPrediction } from "../models/classifier";
import type { ChatMessage, ReplyStatus } from "../protocol";

const preview = (text: string) => text.slice(0, 160);

export function toChatMessage(m: Message): ChatMessage {
  return {
    id: m.id,
    conversationId: m.conversationId,
    role: m.role,
    text: m.text,
    clientMessageId: m.role === "customer" ? m.clientMessageId : null,
    createdAt: m.createdAt.toISOString(),
    replyToId: m.replyToId,
    replyStatus: m.replyStatus,
  };
}

/**
 * A conversation started by a message gets an id derived from (customer, clientMessageId), so a
 * resend of that first message after a lost acknowledgement lands in the same conversation.
 */
function conversationIdFor(customerId: string, clientMessageId: string): string {
  const h = createHash("sha256").update(`${customerId}:${clientMessageId}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export async function findCustomerConversation(conversationId: string, customerId: string) {
  return db().conversation.findFirst({ where: { id: conversationId, customerId } });
}

export type StoreCustomerMessageResult =
  | { ok: true; message: Message; conversation: Conversation; duplicate: boolean }
  | { ok: false; reason: "unknown_conversation" | "conversation_closed" };

/**
 * Stores a customer's message exactly once per (conversation, clientMessageId). Each step is
 * idempotent, so a resend racing the original cannot create a second row.
 */
export async function storeCustomerMessage(input: {
  customerId: string;
  conversationId?: string;
  clientMessageId: string;
  text: string;
}): Promise<StoreCustomerMessageResult> {
  const prisma = db();
  await prisma.customer.upsert({ where: { id: input.customerId }, create: { id: input.customerId }, update: {} });

  let conversationId = input.conversationId;
  if (conversationId === undefined) {
    conversationId = conversationIdFor(input.customerId, input.clientMessageId);
    await prisma.conversation.upsert({
      where: { id: conversationId },
      create: { id: conversationId, customerId: input.customerId },
      update: {},
    });
  }
  const conversation = await findCustomerConversation(conversationId, input.customerId);
  if (!conversation) return { ok: false, reason: "unknown_conversation" };

  const existing = await findByClientId(conversationId, input.clientMessageId);
  if (existing) return { ok: true, message: existing, conversation, duplicate: true };
  if (conversation.status === "closed") return { ok: false, reason: "conversation_closed" };

  try {
    const message = await prisma.message.create({
      data: { conversationId, role: "customer", text: input.text, clientMessageId: input.clientMessageId },
    });
    await prisma.conversation.update({
      where: { id: conversationId },
      data: { lastMessageAt: message.createdAt, lastMessagePreview: preview(message.text) },
    });
    return { ok: true, message, conversation, duplicate: false };
  } catch (e) {
    if (!(e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002")) throw e;
    const raced = await findByClientId(conversationId, input.clientMessageId);
    if (!raced) throw e;
    return { ok: true, message: raced, conversation, duplicate: true };
  }
}

function findByClientId(conversationId: string, clientMessageId: string) {
  return db().message.findUnique({ where: { conversationId_clientMessageId: { conversationId, clientMessageId } } });
}

export async function saveClassification(messageId: string, p: IntentPrediction) {
  const message = await db().message.update({
    where: { id: messageId },
    data: {
      intent: p.intent,
      intentProbability: p.probability,
      runnerUpIntent: p.runnerUpIntent,
      runnerUpProbability: p.runnerUpProbability,
      classifierVersion: p.classifierVersion,
    },
  });
  // The inbox shows the latest intent and the conversation's least confident turn.
  await db().$executeRaw`
    UPDATE "Conversation" SET "lastIntent" = ${p.intent},
      "minIntentProbability" = LEAST(COALESCE("minIntentProbability", 1), ${p.probability})
    WHERE id = ${message.conversationId}::uuid`;
}

/** Records the streak of unsure turns and, for a handoff, moves a bot conversation to the staff queue. */
export async function updateConversationAfterDecision(
  conversationId: string,
  lowConfidenceStreak: number,
  handoff: boolean,
): Promise<DbConversationStatus> {
  const data = handoff ? { lowConfidenceStreak, status: "waiting_for_agent" as const, waitingSince: new Date() } : { lowConfidenceStreak };
  const c = await db().conversation.update({ where: { id: conversationId }, data });
  return c.status;
}

export async function knowledgeArticle(intent: string) {
  return db().knowledgeArticle.findUnique({ where: { intent } });
}

/** The bot reply row for a customer message: created once (its clientMessageId is derived), then finished. */
export async function createBotReply(conversationId: string, replyToId: string, modelVersion: string) {
  const clientMessageId = `reply:${replyToId}`;
  try {
    const message = await db().message.create({
      data: { conversationId, role: "bot", text: "", replyToId, clientMessageId, replyStatus: "streaming", modelVersion },
    });
    return { message, created: true };
  } catch (e) {
    if (!(e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002")) throw e;
    const message = await findByClientId(conversationId, clientMessageId);
    if (!message) throw e;
    return { message, created: false };
  }
}

export async function finishBotReply(
  messageId: string,
  result: { text: string; status: ReplyStatus; timeToFirstTokenMs: number | null; tokenCount: number; generationMs: number },
) {
  const message = await db().message.update({
    where: { id: messageId },
    data: {
      text: result.text,
      replyStatus: result.status,
      timeToFirstTokenMs: result.timeToFirstTokenMs,
      tokenCount: result.tokenCount,
      generationMs: result.generationMs,
    },
  });
  await db().conversation.update({
    where: { id: message.conversationId },
    data: { lastMessageAt: new Date(), ...(message.text ? { lastMessagePreview: preview(message.text) } : {}) },
  });
  return message;
}

/** Messages of a conversation, oldest first; `take` keeps only the most recent ones. */
export async function listMessages(conversationId: string, take?: number): Promise<Message[]> {
  const rows = await db().message.findMany({
    where: { conversationId },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take,
  });
  return rows.reverse();
}

/** A bot message of this customer's, for Stop. */
export async function findCustomerBotMessage(messageId: string, customerId: string) {
  return db().message.findFirst({ where: { id: messageId, role: "bot", conversation: { customerId } } });
}

export async function pingDatabase(): Promise<void> {
  await db().$queryRaw`SELECT 1`;
}
