/** Canned responses: the saved replies agents insert into a chat, kept by admins; every change audited. */
import { audit } from "./audit";
import { db } from "./client";
import { nullWhenMissing } from "./errors";

export async function listCannedResponses() {
  return db().cannedResponse.findMany({ orderBy: { title: "asc" } });
}

export async function createCannedResponse(actor: string, data: { title: string; body: string }) {
  const canned = await db().cannedResponse.create({ data });
  await audit(actor, "canned.created", canned.id, { title: canned.title });
  return canned;
}

/** Null when there is no such canned response. */
export async function updateCannedResponse(actor: string, id: string, data: { title?: string; body?: string }) {
  const canned = await nullWhenMissing(db().cannedResponse.update({ where: { id }, data }));
  if (canned) await audit(actor, "canned.changed", id, data);
  return canned;
}

/** Null when there is no such canned response. */
export async function deleteCannedResponse(actor: string, id: string) {
  const canned = await nullWhenMissing(db().cannedResponse.delete({ where: { id } }));
  if (canned) await audit(actor, "canned.deleted", id, { title: canned.title });
  return canned;
}
