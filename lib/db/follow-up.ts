/**
 * Office hours and offline follow-up: the stored support hours, a customer's email address left in a
 * conversation, who an agent's reply is emailed to, and the outbox used without an SMTP server.
 */
import type { Message } from "../generated/prisma/client";
import { ALWAYS_OPEN, officeHoursSchema, type OfficeHours, type OutboxEmailView } from "../protocol/office-hours";
import { audit } from "./audit";
import { db } from "./client";

const SETTING_ID = 1;

/** The stored hours, or ALWAYS_OPEN while an admin has set none. */
export async function loadOfficeHours(): Promise<{ hours: OfficeHours; configured: boolean; updatedBy: string | null; updatedAt: Date | null }> {
  const row = await db().officeHoursSetting.findUnique({ where: { id: SETTING_ID } });
  if (!row) return { hours: ALWAYS_OPEN, configured: false, updatedBy: null, updatedAt: null };
  return { hours: officeHoursSchema.parse(row.hours), configured: true, updatedBy: row.updatedBy, updatedAt: row.updatedAt };
}

/** Stores validated hours (the caller parsed them with officeHoursSchema), audited. */
export async function saveOfficeHours(actor: string, hours: OfficeHours) {
  await db().officeHoursSetting.upsert({
    where: { id: SETTING_ID },
    create: { id: SETTING_ID, hours, updatedBy: actor },
    update: { hours, updatedBy: actor },
  });
  await audit(actor, "office_hours.changed", "office_hours", hours);
  return loadOfficeHours();
}

export type LeaveEmailResult = { ok: true; message: Message } | { ok: false; reason: "unknown_conversation" | "conversation_closed" };

/**
 * Keeps the customer's email address and marks the conversation for follow-up by email, with a system
 * message saying so, in one transaction: all of it or nothing. Only for the customer's own open conversation.
 */
export async function leaveFollowUpEmail(input: { conversationId: string; customerId: string; email: string; systemText: string }): Promise<LeaveEmailResult> {
  return db().$transaction(async (tx): Promise<LeaveEmailResult> => {
    const locked = await tx.$queryRaw<{ status: string }[]>`
      SELECT status::text FROM "Conversation" WHERE id = ${input.conversationId}::uuid AND "customerId" = ${input.customerId}::uuid FOR UPDATE`;
    if (locked.length === 0) return { ok: false, reason: "unknown_conversation" };
    if (locked[0]!.status === "closed") return { ok: false, reason: "conversation_closed" };
    await tx.customer.update({ where: { id: input.customerId }, data: { email: input.email } });
    const message = await tx.message.create({ data: { conversationId: input.conversationId, role: "system", text: input.systemText } });
    await tx.conversation.update({
      where: { id: input.conversationId },
      data: { emailFollowUp: true, lastMessageAt: message.createdAt },
    });
    return { ok: true, message };
  });
}

/** Where an agent's message in this conversation is emailed: the customer's address, if they asked for follow-up here. */
export async function followUpRecipient(conversationId: string): Promise<{ email: string; customerId: string } | null> {
  const c = await db().conversation.findUnique({
    where: { id: conversationId },
    select: { emailFollowUp: true, customerId: true, customer: { select: { email: true } } },
  });
  if (!c?.emailFollowUp || !c.customer.email) return null;
  return { email: c.customer.email, customerId: c.customerId };
}

export async function addOutboxEmail(email: { to: string; subject: string; text: string; conversationId: string | null }) {
  return db().outboxEmail.create({ data: email });
}

/** The newest emails of the outbox, newest first. */
export async function listOutboxEmails(take = 50): Promise<OutboxEmailView[]> {
  const rows = await db().outboxEmail.findMany({ orderBy: { createdAt: "desc" }, take });
  return rows.map((e) => ({ ...e, createdAt: e.createdAt.toISOString() }));
}
