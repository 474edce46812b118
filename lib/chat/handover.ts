/**
 * Staff and the bot passing a conversation between them: take over, hand back, close, the agent's
 * messages, and the customer's rating at the end. Each one persists first, then broadcasts.
 */
import type { Server } from "socket.io";
import type { StaffIdentity } from "../auth/roles";
import { assignWaitingConversations, reassignConversation, takeOverFrom, type ReassignRefusal } from "../db/assignment";
import { toChatMessage } from "../db/conversations";
import {
  closeConversation,
  handBackConversation,
  rateConversation,
  storeAgentMessage,
  takeOverConversation,
  type ConversationChange,
  type HandoverResult,
  type StaffConversationRow,
} from "../db/handover";
import { ErrorCode, type ChatError } from "../protocol/errors";
import { type ChatMessage, validateText } from "../protocol/chat";
import { conversationRoom, STAFF_NAMESPACE, type ServerToStaffEvents, type StaffConversationState } from "../protocol/staff";
import { conversationEmitter, tellOtherInstances } from "./broadcast";
import { emailAgentReply } from "./follow-up";
import { stopConversationReplies } from "./replies";
import { connectedStaff } from "./staff-online";

/** Other instances stop the bot's replies they are generating for a conversation taken over. */
export const STOP_CONVERSATION_EVENT = "loopdesk:stop-conversation";

export type HandoverOutcome = { ok: true; state: StaffConversationState } | { ok: false; error: ChatError };

export function staffState(c: StaffConversationRow): StaffConversationState {
  return {
    conversationId: c.id,
    status: c.status,
    assignedStaff: c.assignedStaff ? { id: c.assignedStaff.id, name: c.assignedStaff.name } : null,
    rating: c.rating,
    ratingComment: c.ratingComment,
  };
}

const failure = (code: ChatError["code"], message: string) => ({ ok: false as const, error: { code, message } });

function refusal(reason: Extract<HandoverResult, { ok: false }>["reason"] | ReassignRefusal): { ok: false; error: ChatError } {
  switch (reason) {
    case "unknown_conversation":
      return failure(ErrorCode.unknownConversation, "No such conversation.");
    case "conversation_closed":
      return failure(ErrorCode.conversationClosed, "This conversation is closed.");
    case "already_assigned":
      return failure(ErrorCode.alreadyAssigned, "Another agent has already taken over this conversation.");
    case "not_assigned":
      return failure(ErrorCode.notAssigned, "This conversation is assigned to another agent.");
    case "invalid_state":
      return failure(ErrorCode.invalidState, "The conversation is not in a state that allows this.");
    case "unknown_agent":
      return failure(ErrorCode.unknownAgent, "No such support agent.");
    case "agent_disabled":
      return failure(ErrorCode.agentDisabled, "That agent's account is disabled: choose another agent.");
    case "agent_offline":
      return failure(ErrorCode.agentOffline, "That agent is away or not in the console: only online agents can be assigned chats.");
  }
}

/**
 * Stops the bot's replies in a conversation: here, and on other instances when there are any (the
 * default in-memory adapter has none to tell, and would only warn).
 */
function stopBot(io: Server, conversationId: string) {
  if (stopConversationReplies(conversationId) > 0) return;
  tellOtherInstances(io.of(STAFF_NAMESPACE), STOP_CONVERSATION_EVENT, conversationId);
}

/** Sends a watched conversation's new state to the staff watching it. */
function emitStaffState(io: Server, state: StaffConversationState) {
  io.of(STAFF_NAMESPACE)
    .to(conversationRoom(state.conversationId))
    .emit("staff:conversation" satisfies keyof ServerToStaffEvents, state);
}

/** Broadcasts a changed conversation: the system message, its new status, and the staff-side state. */
function announce(io: Server, result: ConversationChange): HandoverOutcome {
  const c = result.conversation;
  const state = staffState(c);
  if (result.changed) {
    const emit = conversationEmitter(io, c.customerId, c.id);
    emit("chat:message", toChatMessage(result.message));
    emit("chat:status", { conversationId: c.id, status: c.status });
    emitStaffState(io, state);
  }
  return { ok: true, state };
}

const joined = (name: string) => `${name} joined the chat`;

/**
 * Takes a conversation over: status `agent`, the bot stops (also mid-reply), the customer is told who
 * joined. One assigned to another agent only with `force` (an explicit take-over, audited).
 */
export async function takeOver(io: Server, staff: StaffIdentity, conversationId: string, opts: { force?: boolean } = {}): Promise<HandoverOutcome> {
  const result = opts.force
    ? await takeOverFrom(conversationId, staff, joined(staff.name))
    : await takeOverConversation(conversationId, staff.id, joined(staff.name));
  if (!result.ok) return refusal(result.reason);
  if (result.changed) stopBot(io, conversationId);
  return announce(io, result);
}

/**
 * Assigns the conversations waiting for an agent to online agents with the console open
 * (lib/db/assignment.ts), and tells each customer and the staff watching. Run after a handoff, when an
 * agent sets themself online, and when an online agent opens the console. `connected`: the staff with
 * the console open, when the caller already asked the cluster.
 */
export async function assignWaiting(io: Server, connected?: string[]): Promise<number> {
  const assigned = await assignWaitingConversations(joined, connected ?? (await connectedStaff(io)));
  for (const a of assigned) announce(io, { ...a, changed: true });
  return assigned.length;
}

/** Gives a conversation to another online agent: its admin or current assignee may (refusals write nothing). */
export async function reassign(io: Server, staff: StaffIdentity, conversationId: string, targetId: string): Promise<HandoverOutcome> {
  const target = { id: targetId, connected: (await connectedStaff(io)).includes(targetId) };
  const result = await reassignConversation(conversationId, { id: staff.id, email: staff.email, isAdmin: staff.role === "admin" }, target, joined);
  if (!result.ok) return refusal(result.reason);
  return announce(io, result);
}

/** Gives the conversation back to the bot, which answers the customer's next message again. */
export async function handBack(io: Server, staff: StaffIdentity, conversationId: string): Promise<HandoverOutcome> {
  const result = await handBackConversation(
    conversationId,
    { id: staff.id, isAdmin: staff.role === "admin" },
    `${staff.name} handed you back to our assistant`,
  );
  if (!result.ok) return refusal(result.reason);
  return announce(io, result);
}

/** Closes the conversation; the customer is then asked for a rating. */
export async function close(io: Server, staff: StaffIdentity, conversationId: string): Promise<HandoverOutcome> {
  const result = await closeConversation(conversationId, { id: staff.id, isAdmin: staff.role === "admin" }, `${staff.name} closed the chat`);
  if (!result.ok) return refusal(result.reason);
  if (result.changed) stopBot(io, conversationId);
  return announce(io, result);
}

export type AgentMessageOutcome = { ok: true; message: ChatMessage; customerId: string } | { ok: false; error: ChatError };

/** A message of the assigned agent: stored once per clientMessageId, then sent to the customer and watchers. */
export async function sendAgentMessage(
  io: Server,
  staff: StaffIdentity,
  input: { conversationId: string; clientMessageId: string; text: string },
): Promise<AgentMessageOutcome> {
  const valid = validateText(input.text);
  if (!valid.ok) return valid;
  const stored = await storeAgentMessage({ ...input, staffId: staff.id, text: valid.text });
  if (!stored.ok) {
    if (stored.reason === "invalid_payload") return failure(ErrorCode.invalidPayload, "This clientMessageId is already in use.");
    return refusal(stored.reason === "not_assigned" ? "not_assigned" : stored.reason);
  }
  const message = toChatMessage(stored.message);
  if (!stored.duplicate) {
    conversationEmitter(io, stored.customerId, input.conversationId)("chat:message", message);
    await emailAgentReply(io, { conversationId: input.conversationId, text: message.text, agentName: staff.name });
  }
  return { ok: true, message, customerId: stored.customerId };
}

export type RateOutcome = { ok: true; conversationId: string; rating: number } | { ok: false; error: ChatError };

/** The customer's 1-5 rating of their own closed conversation, stored once. */
export async function rate(
  io: Server,
  customerId: string,
  input: { conversationId: string; rating: number; comment?: string | null },
): Promise<RateOutcome> {
  if (input.comment && !input.comment.isWellFormed()) return failure(ErrorCode.invalidPayload, "The comment is not valid Unicode text.");
  const cleaned = (input.comment ?? "").replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, "").trim();
  const comment = cleaned === "" ? null : cleaned;
  const result = await rateConversation(input.conversationId, customerId, input.rating, comment);
  if (!result.ok) {
    if (result.reason === "not_closed") return failure(ErrorCode.notClosed, "Only a closed conversation can be rated.");
    if (result.reason === "already_rated") return failure(ErrorCode.alreadyRated, "This conversation has already been rated.");
    return failure(ErrorCode.unknownConversation, "No such conversation.");
  }
  conversationEmitter(io, customerId, input.conversationId)("chat:rated", { conversationId: input.conversationId, rating: input.rating, comment });
  return { ok: true, conversationId: input.conversationId, rating: input.rating };
}
