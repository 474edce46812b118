/**
 * Staff taking over a conversation, handing it back and closing it (one conditional UPDATE each, in
 * `transition`), the agent's messages, and the customer's rating at the end.
 */
import type { Conversation, Message, Prisma } from "../generated/prisma/client";
import { db } from "./client";
import { findCustomerConversation, lastMessagePreview } from "./conversations";
import { isUniqueViolation } from "./errors";

/** A conversation with the staff member it is assigned to, as the staff console needs it. */
export async function findConversationForStaff(conversationId: string) {
  return db().conversation.findUnique({
    where: { id: conversationId },
    include: { assignedStaff: { select: { id: true, name: true } } },
  });
}
export type StaffConversationRow = NonNullable<Awaited<ReturnType<typeof findConversationForStaff>>>;

type Tx = Prisma.TransactionClient;

/** A system message for the customer ("Alex joined the chat"), written in the transaction that changed the conversation. */
export async function addSystemMessage(tx: Tx, conversationId: string, text: string, authorStaffId: string): Promise<Message> {
  const message = await tx.message.create({ data: { conversationId, role: "system", text, authorStaffId } });
  await tx.conversation.update({ where: { id: conversationId }, data: { lastMessageAt: message.createdAt } });
  return message;
}

/** A conversation after a staff action: changed (with the customer's system message about it), or already so. */
export type ConversationChange =
  | { conversation: StaffConversationRow; message: Message; changed: true }
  | { conversation: StaffConversationRow; changed: false };

export type HandoverResult =
  | ({ ok: true } & ConversationChange)
  | { ok: false; reason: "unknown_conversation" | "conversation_closed" | "already_assigned" | "not_assigned" | "invalid_state"; conversation?: StaffConversationRow };

/**
 * Moves a conversation to a new state with one conditional UPDATE (so of two staff racing, exactly one
 * gets through) and, when it moved, a system message for the customer, in one transaction. When the
 * conversation was not in a state `allowed` matches (and is neither unknown nor closed), `refused`
 * says what that means for this transition.
 */
async function transition(
  conversationId: string,
  allowed: Prisma.ConversationWhereInput,
  data: Prisma.ConversationUpdateManyMutationInput | Prisma.ConversationUncheckedUpdateManyInput,
  systemText: string,
  staffId: string,
  refused: (conversation: StaffConversationRow) => HandoverResult,
): Promise<HandoverResult> {
  const message = await db().$transaction(async (tx) => {
    const { count } = await tx.conversation.updateMany({ where: { id: conversationId, ...allowed }, data });
    return count === 0 ? null : addSystemMessage(tx, conversationId, systemText, staffId);
  });
  const conversation = await findConversationForStaff(conversationId);
  if (!conversation) return { ok: false, reason: "unknown_conversation" };
  if (message) return { ok: true, conversation, message, changed: true };
  if (conversation.status === "closed") return { ok: false, reason: "conversation_closed", conversation };
  return refused(conversation);
}

/** Conversations with an agent that this staff member may act on: their own, unassigned, or any for an admin. */
const heldBy = (staff: { id: string; isAdmin: boolean }): Prisma.ConversationWhereInput => ({
  status: "agent",
  ...(staff.isAdmin ? {} : { OR: [{ assignedStaffId: staff.id }, { assignedStaffId: null }] }),
});

/** Assigns a bot or waiting conversation to a member of staff. Taking over one's own again changes nothing. */
export async function takeOverConversation(conversationId: string, staffId: string, systemText: string): Promise<HandoverResult> {
  return transition(
    conversationId,
    { OR: [{ status: { in: ["bot", "waiting_for_agent"] } }, { status: "agent", assignedStaffId: null }] },
    { status: "agent", assignedStaffId: staffId, waitingSince: null },
    systemText,
    staffId,
    (conversation) =>
      conversation.status === "agent" && conversation.assignedStaffId === staffId
        ? { ok: true, conversation, changed: false }
        : { ok: false, reason: "already_assigned", conversation },
  );
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
  return transition(
    conversationId,
    { OR: [{ status: "waiting_for_agent" }, heldBy(staff)] },
    { status: "bot", assignedStaffId: null, waitingSince: null, lowConfidenceStreak: 0 },
    systemText,
    staff.id,
    (conversation) => ({ ok: false, reason: conversation.status === "agent" ? "not_assigned" : "invalid_state", conversation }),
  );
}

/** Closes a conversation: any open one, except that one held by another agent needs an admin. */
export async function closeConversation(
  conversationId: string,
  staff: { id: string; isAdmin: boolean },
  systemText: string,
): Promise<HandoverResult> {
  return transition(
    conversationId,
    { OR: [{ status: { in: ["bot", "waiting_for_agent"] } }, heldBy(staff)] },
    { status: "closed", closedAt: new Date(), waitingSince: null },
    systemText,
    staff.id,
    (conversation) => ({ ok: false, reason: "not_assigned", conversation }),
  );
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
        data: { lastMessageAt: message.createdAt, lastMessagePreview: lastMessagePreview(message.text) },
      });
      return { ok: true, message, customerId: conversation.customerId, duplicate: false };
    });
  try {
    return await attempt();
  } catch (e) {
    // Two sends of one message racing: the loser's insert fails on the unique key; the retry finds the row.
    if (!(isUniqueViolation(e))) throw e;
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
