/** Every database read and write of the chat path, in one place. */
import { createHash, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { db } from "./client";
import { log } from "../log";
import { Prisma } from "../generated/prisma/client";
import type { Conversation, ConversationStatus as DbConversationStatus, Message } from "../generated/prisma/client";
import type { IntentPrediction } from "../models/classifier";
import type { ChatMessage, ReplyGrounding, ReplyStatus } from "../protocol/chat";

const preview = (text: string) => text.slice(0, 160);

interface DriverErrorCause {
  kind?: string;
  code?: string;
  severity?: string;
}
/** Driver-adapter error kinds that mean the connection or the server went away. */
const CONNECTION_LOST_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);

/**
 * Whether an error means the database was unreachable (a connection cut, the server restarting or
 * refusing connections), so the same query may succeed later, rather than a bad query or a conflict.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { name?: string; message?: unknown; cause?: DriverErrorCause; meta?: { driverAdapterError?: { cause?: DriverErrorCause } } } | null;
  const cause = e?.meta?.driverAdapterError?.cause ?? (e?.name === "DriverAdapterError" ? e.cause : undefined);
  if (cause) {
    // FATAL ends the session (terminated, shutting down, not accepting connections); classes 08, 53 and
    // 57P are connection exceptions, insufficient resources and operator intervention.
    return CONNECTION_LOST_KINDS.has(cause.kind ?? "") || cause.severity === "FATAL" || /^(08|53|57P)/.test(cause.code ?? "");
  }
  // node-postgres's own errors for a pooled connection that was cut or could not be made.
  return typeof e?.message === "string" && /Connection terminated|connection error|not queryable|ECONNREFUSED|ECONNRESET/.test(e.message);
}

/** How long writes that must not be lost (a bot reply and the steps before it) wait for the database. */
const DATABASE_RETRY_MS = 60_000;
const MAX_RETRY_DELAY_MS = 2_000;

/**
 * Runs an idempotent database step, retrying with backoff while the database is unavailable (up to a
 * minute), so that work done during an outage (a generated reply) is stored once it is back.
 */
export async function retryWhileDatabaseUnavailable<T>(step: string, run: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + DATABASE_RETRY_MS;
  for (let delay = 100; ; delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS)) {
    try {
      return await run();
    } catch (err) {
      if (!isDatabaseUnavailable(err) || Date.now() + delay > deadline) throw err;
      log.warn({ step, retryInMs: delay, reason: err instanceof Error ? err.message.split("\n").at(-1) : String(err) }, "database unavailable; retrying");
      await sleep(delay);
    }
  }
}

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
    sources: groundingOf(m)?.sources ?? [],
    clarify: groundingOf(m)?.clarify ?? null,
    helpful: m.customerHelpful,
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
    // One transaction: a failure (say, the database going away) leaves either both writes or neither.
    const message = await prisma.$transaction(async (tx) => {
      const created = await tx.message.create({
        data: { conversationId, role: "customer", text: input.text, clientMessageId: input.clientMessageId },
      });
      await tx.conversation.update({
        where: { id: conversationId },
        data: { lastMessageAt: created.createdAt, lastMessagePreview: preview(created.text) },
      });
      return created;
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
  // Only while the bot owns it: an agent may have taken over while the message was being classified.
  await db().conversation.updateMany({ where: { id: conversationId, status: "bot" }, data });
  const c = await db().conversation.findUniqueOrThrow({ where: { id: conversationId }, select: { status: true } });
  return c.status;
}


/**
 * The bot reply row for a customer message: created once (its clientMessageId is derived), then
 * finished. Safe to retry: the row's id is chosen here, so a retry after a lost commit knows the row
 * it finds is its own.
 */
/**
 * Creates the bot's reply to a customer message, once per `kind`: a resent message finds the reply
 * already there (`created: false`). A clarified question gets a second reply, of kind "clarified".
 */
export async function createBotReply(
  conversationId: string,
  replyToId: string,
  modelVersion: string,
  id: string = randomUUID(),
  kind: "reply" | "clarified" = "reply",
) {
  const clientMessageId = `${kind}:${replyToId}`;
  try {
    const message = await db().message.create({
      data: { id, conversationId, role: "bot", text: "", replyToId, clientMessageId, replyStatus: "streaming", modelVersion, replyHeartbeatAt: new Date() },
    });
    return { message, created: true };
  } catch (e) {
    if (!(e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002")) throw e;
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
  },
) {
  const message = await db().message.update({
    where: { id: messageId },
    data: {
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

// ---------------------------------------------------------------------------------------------
// Staff taking over a conversation, handing it back, closing it; the customer's rating.

/** A conversation with the staff member it is assigned to, as the staff console needs it. */
export async function findConversationForStaff(conversationId: string) {
  return db().conversation.findUnique({
    where: { id: conversationId },
    include: { assignedStaff: { select: { id: true, name: true } } },
  });
}
export type StaffConversationRow = NonNullable<Awaited<ReturnType<typeof findConversationForStaff>>>;

type Tx = Prisma.TransactionClient;

async function addSystemMessage(tx: Tx, conversationId: string, text: string, authorStaffId: string): Promise<Message> {
  const message = await tx.message.create({ data: { conversationId, role: "system", text, authorStaffId } });
  await tx.conversation.update({ where: { id: conversationId }, data: { lastMessageAt: message.createdAt } });
  return message;
}

export type HandoverResult =
  | { ok: true; conversation: StaffConversationRow; message: Message; changed: true }
  | { ok: true; conversation: StaffConversationRow; changed: false }
  | { ok: false; reason: "unknown_conversation" | "conversation_closed" | "already_assigned" | "not_assigned" | "invalid_state"; conversation?: StaffConversationRow };

/**
 * Moves a conversation to a new state with one conditional UPDATE (so of two staff racing, exactly one
 * gets through) and, when it moved, a system message for the customer, in one transaction. Returns
 * the system message, or null when the conversation was not in a state `allowed` matches.
 */
async function transition(
  conversationId: string,
  allowed: Prisma.ConversationWhereInput,
  data: Prisma.ConversationUpdateManyMutationInput | Prisma.ConversationUncheckedUpdateManyInput,
  systemText: string,
  staffId: string,
): Promise<{ message: Message | null; conversation: StaffConversationRow | null }> {
  const message = await db().$transaction(async (tx) => {
    const { count } = await tx.conversation.updateMany({ where: { id: conversationId, ...allowed }, data });
    return count === 0 ? null : addSystemMessage(tx, conversationId, systemText, staffId);
  });
  return { message, conversation: await findConversationForStaff(conversationId) };
}

/** Conversations with an agent that this staff member may act on: their own, unassigned, or any for an admin. */
const heldBy = (staff: { id: string; isAdmin: boolean }): Prisma.ConversationWhereInput => ({
  status: "agent",
  ...(staff.isAdmin ? {} : { OR: [{ assignedStaffId: staff.id }, { assignedStaffId: null }] }),
});

/** Assigns a bot or waiting conversation to a member of staff. Taking over one's own again changes nothing. */
export async function takeOverConversation(conversationId: string, staffId: string, systemText: string): Promise<HandoverResult> {
  const { message, conversation } = await transition(
    conversationId,
    { OR: [{ status: { in: ["bot", "waiting_for_agent"] } }, { status: "agent", assignedStaffId: null }] },
    { status: "agent", assignedStaffId: staffId, waitingSince: null },
    systemText,
    staffId,
  );
  if (!conversation) return { ok: false, reason: "unknown_conversation" };
  if (message) return { ok: true, conversation, message, changed: true };
  if (conversation.status === "closed") return { ok: false, reason: "conversation_closed", conversation };
  if (conversation.status === "agent" && conversation.assignedStaffId === staffId) return { ok: true, conversation, changed: false };
  return { ok: false, reason: "already_assigned", conversation };
}

/**
 * Gives a conversation back to the bot: one the staff member holds (an admin may hand back anyone's),
 * or one still waiting for an agent. The unsure-turn streak starts again.
 */
export async function handBackConversation(
  conversationId: string,
  staff: { id: string; isAdmin: boolean },
  systemText: string,
): Promise<HandoverResult> {
  const { message, conversation } = await transition(
    conversationId,
    { OR: [{ status: "waiting_for_agent" }, heldBy(staff)] },
    { status: "bot", assignedStaffId: null, waitingSince: null, lowConfidenceStreak: 0 },
    systemText,
    staff.id,
  );
  if (!conversation) return { ok: false, reason: "unknown_conversation" };
  if (message) return { ok: true, conversation, message, changed: true };
  if (conversation.status === "closed") return { ok: false, reason: "conversation_closed", conversation };
  if (conversation.status === "agent") return { ok: false, reason: "not_assigned", conversation };
  return { ok: false, reason: "invalid_state", conversation };
}

/** Closes a conversation: any open one, except that one held by another agent needs an admin. */
export async function closeConversation(
  conversationId: string,
  staff: { id: string; isAdmin: boolean },
  systemText: string,
): Promise<HandoverResult> {
  const { message, conversation } = await transition(
    conversationId,
    { OR: [{ status: { in: ["bot", "waiting_for_agent"] } }, heldBy(staff)] },
    { status: "closed", closedAt: new Date(), waitingSince: null },
    systemText,
    staff.id,
  );
  if (!conversation) return { ok: false, reason: "unknown_conversation" };
  if (message) return { ok: true, conversation, message, changed: true };
  if (conversation.status === "closed") return { ok: false, reason: "conversation_closed", conversation };
  return { ok: false, reason: "not_assigned", conversation };
}

export type StoreAgentMessageResult =
  | { ok: true; message: Message; customerId: string; duplicate: boolean }
  | { ok: false; reason: "unknown_conversation" | "conversation_closed" | "not_assigned" | "invalid_payload" };

/**
 * Stores a message of the assigned agent exactly once per clientMessageId (kept as `agent:<id>`, apart
 * from customers' ids). The conversation row is locked meanwhile, so a hand back or close either comes
 * before (and the message is refused) or after it.
 */
export async function storeAgentMessage(input: {
  conversationId: string;
  staffId: string;
  clientMessageId: string;
  text: string;
}): Promise<StoreAgentMessageResult> {
  const clientMessageId = `agent:${input.clientMessageId}`;
  const attempt = () =>
    db().$transaction(async (tx): Promise<StoreAgentMessageResult> => {
      const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM "Conversation" WHERE id = ${input.conversationId}::uuid FOR UPDATE`;
      if (locked.length === 0) return { ok: false, reason: "unknown_conversation" };
      const conversation = await tx.conversation.findUniqueOrThrow({ where: { id: input.conversationId } });
      const existing = await tx.message.findUnique({
        where: { conversationId_clientMessageId: { conversationId: input.conversationId, clientMessageId } },
      });
      if (existing) {
        if (existing.role !== "agent" || existing.authorStaffId !== input.staffId) return { ok: false, reason: "invalid_payload" };
        return { ok: true, message: existing, customerId: conversation.customerId, duplicate: true };
      }
      if (conversation.status === "closed") return { ok: false, reason: "conversation_closed" };
      if (conversation.status !== "agent" || conversation.assignedStaffId !== input.staffId) return { ok: false, reason: "not_assigned" };
      const message = await tx.message.create({
        data: { conversationId: input.conversationId, role: "agent", text: input.text, clientMessageId, authorStaffId: input.staffId },
      });
      await tx.conversation.update({
        where: { id: input.conversationId },
        data: { lastMessageAt: message.createdAt, lastMessagePreview: preview(message.text) },
      });
      return { ok: true, message, customerId: conversation.customerId, duplicate: false };
    });
  try {
    return await attempt();
  } catch (e) {
    // Two sends of one message racing: the loser's insert fails on the unique key; the retry finds the row.
    if (!(e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002")) throw e;
    return attempt();
  }
}

export type RateConversationResult =
  | { ok: true; conversation: Conversation }
  | { ok: false; reason: "unknown_conversation" | "not_closed" | "already_rated" };

/** Stores a customer's rating of their own closed conversation, once (a conditional UPDATE). */
export async function rateConversation(
  conversationId: string,
  customerId: string,
  rating: number,
  comment: string | null,
): Promise<RateConversationResult> {
  const { count } = await db().conversation.updateMany({
    where: { id: conversationId, customerId, status: "closed", rating: null },
    data: { rating, ratingComment: comment },
  });
  const conversation = await findCustomerConversation(conversationId, customerId);
  if (!conversation) return { ok: false, reason: "unknown_conversation" };
  if (count === 1) return { ok: true, conversation };
  if (conversation.status !== "closed") return { ok: false, reason: "not_closed" };
  return { ok: false, reason: "already_rated" };
}
