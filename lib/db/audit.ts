/** The audit log: who did what to which record (staff accounts, canned responses, datasets, runs, models). */
import type { Prisma } from "../generated/prisma/client";
import { db } from "./client";

export async function audit(actor: string, action: string, subject: string, details?: Prisma.InputJsonValue) {
  await db().auditLog.create({ data: { actor, action, subject, details } });
}
