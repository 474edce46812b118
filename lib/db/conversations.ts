/**
 * Customer conversations on the chat path: storing a customer's message once, its classification,
 * the bot's decision on the conversation, the knowledge a reply is grounded in, and the history.
 */
import { createHash } from "node:crypto";
import type { Conversation, ConversationStatus, Message, Prisma } from "../generated/prisma/client";
import type { ChatMessage, ReplyGrounding } from "../protocol/chat";
import { db } from "./client";
import { encodeCursor, timeAndIdCursor } from "./cursor";
import { isUniqueViolation } from "./errors";

/** The inbox row's preview of a conversation's last message. */
export const lastMessagePreview = (text: string) => text.slice(0, 160);

/** The intent classifier's verdict on a customer message, as stored on it. */
export interface StoredClassification {
  intent: string;
  probability: number;
  runnerUpIntent: string;
  runnerUpProbability: number;
  classifierVersion: string;
}

export function toChatMessage(m: Message): ChatMessage {
  return {
    id: m.id,
    conversationId: m.conversationId,
    role: m.role,
    text: m.text,
    clientMessageId: m.role === "customer" ? (m.clientMessageId?.replace(/^customer:/, "") ?? null) : null,
    createdAt: m.createdAt.toISOString(),
    replyToId: m.replyToId,
    replyStatus: m.replyStatus,
    sources: groundingOf(m)?.sources ?? [],
    clarify: groundingOf(m)?.clarify ?? null,
    helpful: m.customerHelpful,
    ...(groundingOf(m)?.askEmail ? { askEmail: true as const } : {}),
  };
}

/** A bot reply's stored grounding (written only by finishBotReply, from the typed value). */
export function groundingOf(m: Pick<Message, "grounding">): ReplyGrounding | null {
  return (m.grounding as ReplyGrounding | null) ?? null;
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
  | { ok: true; message: Message; conversation: Conversation; duplicate: boolean; reopened?: true }
  | { ok: false; reason: "unknown_conversation" | "conversation_closed" | "conversation_full" };

// Bot replies (`reply:<id>`, `clarified:<id>`) and agent messages (`agent:<id>`) share the unique
// (conversation, clientMessageId) key with customers' own ids. A customer's id that looks like one of
// theirs is kept as `customer:<id>` (toChatMessage strips it), so it never resolves to their rows.
const RESERVED_CLIENT_ID = /^(reply|clarified|agent|customer):/;

function customerClientId(clientMessageId: string): string {
  return RESERVED_CLIENT_ID.test(clientMessageId) ? `customer:${clientMessageId}` : clientMessageId;
}

/**
 * Stores a customer's message exactly once per (conversation, clientMessageId). Each step is
 * idempotent, so a resend racing the original cannot create a second row. A conversation that already
 * has `maxMessages` messages takes no more (two sends racing at the cap may both get in).
 */
export async function storeCustomerMessage(input: {
  customerId: string;
  conversationId?: string;
  clientMessageId: string;
  text: string;
  maxMessages: number;
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

  const clientMessageId = customerClientId(input.clientMessageId);
  const existing = await findByClientId(conversationId, clientMessageId);
  if (existing) return { ok: true, message: existing, conversation, duplicate: true };
  // A closed conversation the customer asked to follow up by email reopens for staff when they write
  // again (say, from the emailed link); any other closed one is finished.
  const reopen = conversation.status === "closed" && conversation.emailFollowUp;
  if (conversation.status === "closed" && !reopen) return { ok: false, reason: "conversation_closed" };
  if ((await prisma.message.count({ where: { conversationId } })) >= input.maxMessages) return { ok: false, reason: "conversation_full" };

  try {
    // One transaction: a failure (say, the database going away) leaves either both writes or neither.
    const message = await prisma.$transaction(async (tx) => {
      const created = await tx.message.create({
        data: { conversationId, role: "customer", text: input.text, clientMessageId },
      });
      await tx.conversation.update({
        where: { id: conversationId },
        data: {
          lastMessageAt: created.createdAt,
          lastMessagePreview: lastMessagePreview(created.text),
          ...(reopen ? { status: "waiting_for_agent", closedAt: null, waitingSince: created.createdAt, rating: null, ratingComment: null } : {}),
        },
      });
      return created;
    });
    return { ok: true, message, conversation, duplicate: false, ...(reopen ? { reopened: true as const } : {}) };
  } catch (e) {
    if (!(isUniqueViolation(e))) throw e;
    const raced = await findByClientId(conversationId, clientMessageId);
    if (!raced) throw e;
    return { ok: true, message: raced, conversation, duplicate: true };
  }
}

export function findByClientId(conversationId: string, clientMessageId: string) {
  return db().message.findUnique({ where: { conversationId_clientMessageId: { conversationId, clientMessageId } } });
}

export async function saveClassification(messageId: string, p: StoredClassification) {
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
): Promise<ConversationStatus> {
  const data = handoff ? { lowConfidenceStreak, status: "waiting_for_agent" as const, waitingSince: new Date() } : { lowConfidenceStreak };
  // Only while the bot owns it: an agent may have taken over while the message was being classified.
  await db().conversation.updateMany({ where: { id: conversationId, status: "bot" }, data });
  const c = await db().conversation.findUniqueOrThrow({ where: { id: conversationId }, select: { status: true } });
  return c.status;
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

/**
 * Where a page of a conversation's messages newest first starts: all of them, or with `before` (a
 * page's `olderCursor`) those before that page. Null for a cursor that is not one of ours.
 */
export function messagesBefore(conversationId: string, before: string | undefined): Prisma.MessageWhereInput | null {
  if (before === undefined) return { conversationId };
  const key = timeAndIdCursor(before);
  if (!key) return null;
  const at = new Date(key.at);
  return { conversationId, OR: [{ createdAt: { lt: at } }, { createdAt: at, id: { lt: key.id } }] };
}

/** Newest first, as a page is read (`take + 1` rows, to know whether there are more). */
export const NEWEST_FIRST = [{ createdAt: "desc" }, { id: "desc" }] satisfies Prisma.MessageOrderByWithRelationInput[];

/** A page read newest first with one row more than `take`: the page oldest first, and the cursor of the page before it. */
export function olderPage<M extends { createdAt: Date; id: string }>(rows: M[], take: number): { messages: M[]; olderCursor: string | null } {
  const messages = rows.slice(0, take).reverse();
  const oldest = messages[0];
  return { messages, olderCursor: rows.length > take && oldest ? encodeCursor([oldest.createdAt.toISOString(), oldest.id]) : null };
}

/**
 * One page of a conversation's messages, oldest first: the newest `take`, or with `before` the `take`
 * before that page; `olderCursor` is null once the first message is in. Null for a bad cursor.
 */
export async function messagePage(
  conversationId: string,
  opts: { before?: string; take: number },
): Promise<{ messages: Message[]; olderCursor: string | null } | null> {
  const where = messagesBefore(conversationId, opts.before);
  if (!where) return null;
  return olderPage(await db().message.findMany({ where, orderBy: NEWEST_FIRST, take: opts.take + 1 }), opts.take);
}
