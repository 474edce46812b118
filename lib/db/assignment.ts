/**
 * Who handles a conversation handed to staff: agents' availability (online/away), the automatic
 * assignment of waiting conversations to the online agent with the fewest open chats (round robin
 * among equals), reassignment, and an explicit take-over from another agent. "Online" also needs the
 * console open: callers pass the staff with a /staff socket (lib/chat/handover.ts asks every instance). Every assignment runs
 * under one transaction-scoped advisory lock, so the open-chat counts it decides on are never stale.
 */
import type { Message, Prisma, StaffAvailability } from "../generated/prisma/client";
import { db } from "./client";
import { addSystemMessage, findConversationForStaff, type ConversationChange, type StaffConversationRow } from "./handover";

type Tx = Prisma.TransactionClient;

/** Serialises every assignment (any instance): the key is arbitrary, fixed for this purpose. */
const ASSIGNMENT_LOCK = 160_001;

/** Roles that take chats (lib/auth/roles.ts AREA_ROLES.support). */
const SUPPORT_ROLES = ["agent", "admin"] as const;

/** At most this many waiting conversations are assigned in one go (the rest in the next). */
const ASSIGN_BATCH = 200;

export async function setAvailability(staffId: string, availability: StaffAvailability): Promise<StaffAvailability | null> {
  const { count } = await db().staffUser.updateMany({ where: { id: staffId }, data: { availability } });
  return count === 1 ? availability : null;
}

export async function availabilityOf(staffId: string): Promise<StaffAvailability | null> {
  const row = await db().staffUser.findUnique({ where: { id: staffId }, select: { availability: true } });
  return row?.availability ?? null;
}

/** Support staff who may be assigned chats (not disabled), with their availability and open chats; online first. */
export async function listAssignableStaff() {
  const rows = await db().$queryRaw<{ id: string; name: string; availability: StaffAvailability; openChats: number }[]>`
    SELECT s.id, s.name, s.availability,
      (SELECT count(*)::int FROM "Conversation" c WHERE c."assignedStaffId" = s.id AND c.status = 'agent') AS "openChats"
    FROM "StaffUser" s
    WHERE NOT s.disabled AND s.role::text IN ('agent', 'admin')
    ORDER BY s.availability = 'online' DESC, s.name, s.id`;
  return rows;
}

/** Whether any of `connected` (staff with the console open) is an enabled agent or admin set online: someone can take a handoff. */
export async function anyAssignableOnline(connected: string[]): Promise<boolean> {
  if (connected.length === 0) return false;
  return (await db().staffUser.count({ where: { id: { in: connected }, availability: "online", disabled: false, role: { in: ["agent", "admin"] } } })) > 0;
}

async function lockAssignments(tx: Tx) {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${ASSIGNMENT_LOCK}::bigint)`;
}

/** Records that `staffId` was just assigned a chat; clock_timestamp, not now(), so a batch in one transaction still rotates. */
async function markAssigned(tx: Tx, staffId: string) {
  await tx.$executeRaw`UPDATE "StaffUser" SET "lastAssignedAt" = clock_timestamp() WHERE id = ${staffId}::uuid`;
}

/** What a transaction below decided: a refusal, or done (with the customer's system message when it changed anything). */
type Decided<R extends string> = { ok: false; reason: R } | { ok: true; message: Message | null };

export type AssignResult<R extends string> = ({ ok: true } & ConversationChange) | { ok: false; reason: R | "unknown_conversation" };

/** The conversation as it is after a committed decision. */
async function settled<R extends string>(conversationId: string, decided: Decided<R>): Promise<AssignResult<R>> {
  if (!decided.ok) return decided;
  const conversation = await findConversationForStaff(conversationId);
  if (!conversation) return { ok: false, reason: "unknown_conversation" };
  return decided.message ? { ok: true, changed: true, conversation, message: decided.message } : { ok: true, changed: false, conversation };
}

export interface Assignment {
  conversation: StaffConversationRow;
  message: Message;
}

/**
 * Assigns waiting conversations, oldest first, each to the online agent with the fewest open chats
 * (status `agent`), ties going to the one assigned longest ago. Stops when none is waiting or nobody
 * is online. `joined` is the customer's system message for an agent's name.
 */
export async function assignWaitingConversations(joined: (name: string) => string, connected: string[]): Promise<Assignment[]> {
  if (connected.length === 0) return [];
  const done = await db().$transaction(async (tx) => {
    await lockAssignments(tx);
    const out: { conversationId: string; message: Message }[] = [];
    while (out.length < ASSIGN_BATCH) {
      const [waiting] = await tx.$queryRaw<{ id: string }[]>`
        SELECT id FROM "Conversation" WHERE status = 'waiting_for_agent'
        ORDER BY "waitingSince" ASC NULLS LAST, id LIMIT 1 FOR UPDATE`;
      if (!waiting) break;
      const [agent] = await tx.$queryRaw<{ id: string; name: string }[]>`
        SELECT s.id, s.name FROM "StaffUser" s
        WHERE s.availability = 'online' AND NOT s.disabled AND s.role::text IN ('agent', 'admin') AND s.id = ANY(${connected}::uuid[])
        ORDER BY (SELECT count(*) FROM "Conversation" c WHERE c."assignedStaffId" = s.id AND c.status = 'agent'),
          s."lastAssignedAt" ASC NULLS FIRST, s.id
        LIMIT 1`;
      if (!agent) break;
      await tx.conversation.update({ where: { id: waiting.id }, data: { status: "agent", assignedStaffId: agent.id, waitingSince: null } });
      await markAssigned(tx, agent.id);
      out.push({ conversationId: waiting.id, message: await addSystemMessage(tx, waiting.id, joined(agent.name), agent.id) });
    }
    return out;
  });
  const assigned: Assignment[] = [];
  for (const { conversationId, message } of done) {
    const conversation = await findConversationForStaff(conversationId);
    if (conversation) assigned.push({ conversation, message });
  }
  return assigned;
}

export type ReassignRefusal =
  | "unknown_conversation"
  | "conversation_closed"
  | "invalid_state"
  | "not_assigned"
  | "unknown_agent"
  | "agent_disabled"
  | "agent_offline";


/**
 * Gives a waiting or assigned conversation to another support agent, who must be enabled, online and
 * `connected` (their console open).
 * Only an admin or the current assignee may. Every check comes before the first write, in one
 * transaction that holds the conversation row and the target's (so they cannot go away meanwhile):
 * a refusal writes nothing. Audited with both names.
 */
export async function reassignConversation(
  conversationId: string,
  actor: { id: string; email: string; isAdmin: boolean },
  target: { id: string; connected: boolean },
  joined: (name: string) => string,
): Promise<AssignResult<ReassignRefusal>> {
  const targetId = target.id;
  const decided = await db().$transaction(async (tx): Promise<Decided<ReassignRefusal>> => {
    await lockAssignments(tx);
    const [c] = await tx.$queryRaw<{ status: string; assignedStaffId: string | null }[]>`
      SELECT status::text, "assignedStaffId" FROM "Conversation" WHERE id = ${conversationId}::uuid FOR UPDATE`;
    if (!c) return { ok: false, reason: "unknown_conversation" };
    if (c.status === "closed") return { ok: false, reason: "conversation_closed" };
    if (c.status !== "agent" && c.status !== "waiting_for_agent") return { ok: false, reason: "invalid_state" };
    if (!actor.isAdmin && c.assignedStaffId !== actor.id) return { ok: false, reason: "not_assigned" };
    const [row] = await tx.$queryRaw<{ name: string; role: string; disabled: boolean; availability: string }[]>`
      SELECT name, role::text, disabled, availability::text FROM "StaffUser" WHERE id = ${targetId}::uuid FOR SHARE`;
    if (!row || !(SUPPORT_ROLES as readonly string[]).includes(row.role)) return { ok: false, reason: "unknown_agent" };
    if (row.disabled) return { ok: false, reason: "agent_disabled" };
    if (row.availability !== "online" || !target.connected) return { ok: false, reason: "agent_offline" };
    if (c.status === "agent" && c.assignedStaffId === targetId) return { ok: true, message: null };
    await tx.conversation.update({ where: { id: conversationId }, data: { status: "agent", assignedStaffId: targetId, waitingSince: null } });
    await markAssigned(tx, targetId);
    await tx.auditLog.create({
      data: { actor: actor.email, action: "conversation.assign", subject: conversationId, details: { from: c.assignedStaffId, to: targetId } },
    });
    return { ok: true, message: await addSystemMessage(tx, conversationId, joined(row.name), targetId) };
  });
  return settled(conversationId, decided);
}


/**
 * An explicit take-over of any open conversation, also one another agent is assigned (who can then no
 * longer send in it). Recorded in the audit log with whom it was taken from.
 */
export async function takeOverFrom(
  conversationId: string,
  staff: { id: string; email: string },
  systemText: string,
): Promise<AssignResult<"conversation_closed">> {
  const decided = await db().$transaction(async (tx): Promise<Decided<"unknown_conversation" | "conversation_closed">> => {
    await lockAssignments(tx);
    const [c] = await tx.$queryRaw<{ status: string; assignedStaffId: string | null }[]>`
      SELECT status::text, "assignedStaffId" FROM "Conversation" WHERE id = ${conversationId}::uuid FOR UPDATE`;
    if (!c) return { ok: false, reason: "unknown_conversation" };
    if (c.status === "closed") return { ok: false, reason: "conversation_closed" };
    if (c.status === "agent" && c.assignedStaffId === staff.id) return { ok: true, message: null };
    await tx.conversation.update({ where: { id: conversationId }, data: { status: "agent", assignedStaffId: staff.id, waitingSince: null } });
    await markAssigned(tx, staff.id);
    await tx.auditLog.create({
      data: { actor: staff.email, action: "conversation.takeover", subject: conversationId, details: { from: c.assignedStaffId, fromStatus: c.status, to: staff.id } },
    });
    return { ok: true, message: await addSystemMessage(tx, conversationId, systemText, staff.id) };
  });
  return settled(conversationId, decided);
}
