/**
 * Office hours and offline follow-up: whether an agent can join a handoff now, the customer's email
 * address when none can, and an agent's later reply sent there with a signed link back to the chat.
 */
import type { Server } from "socket.io";
import { config } from "../config";
import { toChatMessage } from "../db/conversations";
import { followUpRecipient, leaveFollowUpEmail, loadOfficeHours } from "../db/follow-up";
import { signFollowUpLink } from "../follow-up-link";
import { log } from "../log";
import { sendEmail } from "../mail";
import { describeHours, isOpen } from "../office-hours";
import { CHAT_NAMESPACE, customerRoom, emailSchema, type EmailAck } from "../protocol/chat";
import { ErrorCode } from "../protocol/errors";
import { conversationEmitter } from "./broadcast";
import { anyAgentOnline, askCluster } from "./staff-online";

/**
 * Whether a handoff now gets an agent: within office hours and someone online (`connected`: the staff
 * with the console open, null when the cluster could not tell); else why not, honestly.
 */
export async function supportAvailability(connected: string[] | null, now = new Date()): Promise<{ available: true } | { available: false; reason: "closed" | "nobody_online"; hours: string }> {
  const { hours } = await loadOfficeHours();
  if (!isOpen(hours, now)) return { available: false, reason: "closed", hours: describeHours(hours) };
  if (!(await anyAgentOnline(connected))) return { available: false, reason: "nobody_online", hours: describeHours(hours) };
  return { available: true };
}

/** The system message confirming where replies will go. */
export const emailLeftText = (email: string) =>
  `Thanks! If you are not on this page when our team replies, we'll email the reply to ${email} with a link back to this chat.`;

/** `chat:email`: validates and stores the customer's address for their open conversation, then confirms it in the chat. */
export async function leaveEmail(io: Server, customerId: string, payload: unknown): Promise<EmailAck> {
  const parsed = emailSchema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const code = issue.path[0] === "email" ? ErrorCode.invalidEmail : ErrorCode.invalidPayload;
    return { ok: false, error: { code, message: `${code === ErrorCode.invalidEmail ? "Invalid email address" : "Invalid payload"}: ${issue.path.join(".")}: ${issue.message}` } };
  }
  const { conversationId, email } = parsed.data;
  const stored = await leaveFollowUpEmail({ conversationId, customerId, email, systemText: emailLeftText(email) });
  if (!stored.ok) {
    return stored.reason === "conversation_closed"
      ? { ok: false, error: { code: ErrorCode.conversationClosed, message: "This conversation is closed." } }
      : { ok: false, error: { code: ErrorCode.unknownConversation, message: "No such conversation." } };
  }
  conversationEmitter(io, customerId, conversationId)("chat:message", toChatMessage(stored.message));
  return { ok: true, conversationId, email };
}

/** The link back to a conversation, as the email carries it. */
export function followUpUrl(conversationId: string, customerId: string, now = new Date()): string {
  const cfg = config();
  const expiresAt = new Date(now.getTime() + cfg.FOLLOW_UP_LINK_DAYS * 86_400_000);
  const base = cfg.PUBLIC_URL ?? `http://localhost:${cfg.PORT}`;
  return new URL(`/follow-up/${signFollowUpLink({ conversationId, customerId, expiresAt }, cfg.customerTokenSecret)}`, base).toString();
}

/**
 * Emails an agent's message when the customer left their address in the conversation and has no chat
 * open (no `/chat` socket on any instance): they were told the reply would come by email. A failed
 * send is logged; the message itself is stored and delivered in the chat either way.
 */
export async function emailAgentReply(io: Server, message: { conversationId: string; text: string; agentName: string }): Promise<void> {
  try {
    const recipient = await followUpRecipient(message.conversationId);
    if (!recipient) return;
    // When it cannot be told whether they are here, the email goes: they were promised it.
    const sockets = await askCluster(io.of(CHAT_NAMESPACE).in(customerRoom(recipient.customerId)).fetchSockets());
    if (sockets && sockets.length > 0) return;
    const link = followUpUrl(message.conversationId, recipient.customerId);
    await sendEmail({
      to: recipient.email,
      subject: "Northwind Goods support replied to your chat",
      text:
        `${message.agentName} from Northwind Goods support replied:\n\n${message.text}\n\n` +
        `Continue the conversation: ${link}\n(The link works for ${config().FOLLOW_UP_LINK_DAYS} days.)\n`,
      conversationId: message.conversationId,
    });
  } catch (err) {
    log.error({ err, conversationId: message.conversationId }, "follow-up email not sent");
  }
}
