/**
 * The bot's reply rows: created once per customer message, their text saved as it streams, a heartbeat
 * while this process generates them, interrupted when the process that did died, then finished.
 */
import { randomUUID } from "node:crypto";
import type { Message, Prisma, ReplyDecision } from "../generated/prisma/client";
import type { ReplyGrounding, ReplyStatus } from "../protocol/chat";
import { db } from "./client";
import { findByClientId, lastMessagePreview } from "./conversations";
import { isUniqueViolation } from "./errors";

/** What the bot decided to do with the customer message a reply answers; stored on the reply. */
export type { ReplyDecision };

/**
 * The bot reply row for a customer message: created once (its clientMessageId is derived), then
 * finished. Safe to retry: the row's id is chosen here, so a retry after a lost commit knows the row
 * it finds is its own.
 */
export async function createBotReply(
  conversationId: string,
  replyToId: string,
  modelVersion: string,
  decision: ReplyDecision,
  id: string = randomUUID(),
  kind: "reply" | "clarified" = "reply",
) {
  // Once per kind: a clarified question gets a second reply, the answer to the topic picked.
  const clientMessageId = `${kind}:${replyToId}`;
  try {
    const message = await db().message.create({
      data: { id, conversationId, role: "bot", text: "", replyToId, clientMessageId, replyStatus: "streaming", modelVersion, decision, replyHeartbeatAt: new Date() },
    });
    return { message, created: true };
  } catch (e) {
    if (!(isUniqueViolation(e))) throw e;
    const message = await findByClientId(conversationId, clientMessageId);
    if (!message) throw e;
    return { message, created: message.id === id };
  }
}

/** Stores the text a reply has so far (a reconnecting client resumes from it); also its heartbeat. */
export async function saveReplyProgress(messageId: string, text: string): Promise<void> {
  await db().message.updateMany({ where: { id: messageId, replyStatus: "streaming" }, data: { text, replyHeartbeatAt: new Date() } });
}

/** Heartbeat for replies this process is generating or has queued, so no other instance marks them interrupted. */
export async function touchStreamingReplies(messageIds: string[]): Promise<void> {
  if (messageIds.length === 0) return;
  await db().message.updateMany({ where: { id: { in: messageIds }, replyStatus: "streaming" }, data: { replyHeartbeatAt: new Date() } });
}

/**
 * Marks replies left streaming by a dead process (no heartbeat for `staleMs`; `aliveHere` are the
 * caller's own, whose heartbeat an outage may have held up) as interrupted, keeping their partial
 * text; returns them with their customer, to tell anyone watching.
 */
export async function interruptAbandonedReplies(staleMs: number, aliveHere: string[]): Promise<{ message: Message; customerId: string }[]> {
  const cutoff = new Date(Date.now() - staleMs);
  const where = {
    replyStatus: "streaming" as const,
    id: { notIn: aliveHere },
    OR: [{ replyHeartbeatAt: { lt: cutoff } }, { replyHeartbeatAt: null }],
  };
  const abandoned = await db().message.findMany({ where, select: { id: true } });
  if (abandoned.length === 0) return [];
  const ids = abandoned.map((m) => m.id);
  // The condition again: a reply whose heartbeat came in meanwhile is still alive.
  await db().message.updateMany({ where: { AND: [{ id: { in: ids } }, where] }, data: { replyStatus: "interrupted" } });
  const rows = await db().message.findMany({
    where: { id: { in: ids }, replyStatus: "interrupted" },
    include: { conversation: { select: { customerId: true } } },
  });
  return rows.map(({ conversation, ...message }) => ({ message, customerId: conversation.customerId }));
}

export async function finishBotReply(
  messageId: string,
  result: {
    text: string;
    status: ReplyStatus;
    timeToFirstTokenMs: number | null;
    tokenCount: number;
    generationMs: number;
    grounding?: ReplyGrounding;
    /** A decision taken after the reply was created (a clarified question answered under load). */
    decision?: ReplyDecision;
  },
) {
  const message = await db().message.update({
    where: { id: messageId },
    data: {
      decision: result.decision,
      grounding: result.grounding as Prisma.InputJsonValue | undefined,
      text: result.text,
      replyStatus: result.status,
      timeToFirstTokenMs: result.timeToFirstTokenMs,
      tokenCount: result.tokenCount,
      generationMs: result.generationMs,
    },
  });
  await db().conversation.update({
    where: { id: message.conversationId },
    data: { lastMessageAt: new Date(), ...(message.text ? { lastMessagePreview: lastMessagePreview(message.text) } : {}) },
  });
  return message;
}

/** A bot message of this customer's, for Stop. */
export async function findCustomerBotMessage(messageId: string, customerId: string) {
  return db().message.findFirst({ where: { id: messageId, role: "bot", conversation: { customerId } } });
}
