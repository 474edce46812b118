/**
 * Private notes: what staff write about a conversation for each other. A separate table from Message,
 * so nothing that reads a conversation's messages for the customer (chat:history, /chat events, the
 * customer's data export) can ever include one.
 */
import type { StaffNote } from "../protocol/staff";
import { db } from "./client";

/** A conversation's notes are bounded like its messages, so a transcript stays one bounded read. */
export const MAX_NOTES_PER_CONVERSATION = 200;

const WITH_AUTHOR = { authorStaff: { select: { name: true } } } as const;

function toStaffNote(n: { id: string; conversationId: string; text: string; createdAt: Date; authorStaff: { name: string } | null }): StaffNote {
  return { id: n.id, conversationId: n.conversationId, text: n.text, createdAt: n.createdAt.toISOString(), authorName: n.authorStaff?.name ?? null };
}

export type AddNoteResult = { ok: true; note: StaffNote } | { ok: false; reason: "unknown_conversation" | "conversation_closed" | "too_many_notes" };

/** Adds a note unless the conversation is closed (checked under its row lock, so a close racing the note wins cleanly). */
export async function addNote(conversationId: string, authorStaffId: string, text: string): Promise<AddNoteResult> {
  return db().$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<{ status: string }[]>`SELECT status::text AS status FROM "Conversation" WHERE id = ${conversationId}::uuid FOR UPDATE`;
    if (!row) return { ok: false, reason: "unknown_conversation" };
    if (row.status === "closed") return { ok: false, reason: "conversation_closed" };
    if ((await tx.conversationNote.count({ where: { conversationId } })) >= MAX_NOTES_PER_CONVERSATION) return { ok: false, reason: "too_many_notes" };
    const note = await tx.conversationNote.create({ data: { conversationId, authorStaffId, text }, include: WITH_AUTHOR });
    return { ok: true, note: toStaffNote(note) };
  });
}

/** A conversation's notes, oldest first. */
export async function listNotes(conversationId: string): Promise<StaffNote[]> {
  const notes = await db().conversationNote.findMany({ where: { conversationId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], include: WITH_AUTHOR });
  return notes.map(toStaffNote);
}
