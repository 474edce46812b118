/** What admins do in the console: manage staff accounts and canned responses, every change audited. */
import { z } from "zod";
import { Prisma } from "../generated/prisma/client";
import { audit } from "../db/ml";
import {
  deleteCannedResponse,
  deleteSessionsOf,
  insertCannedResponse,
  updateCannedResponse,
  updateStaffUser,
} from "../db/staff";
import { ApiError } from "../http";
import type { StaffIdentity } from "./roles";
import { hashPassword, passwordSchema, staffRoleSchema } from "./session";

export const staffPatchSchema = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    role: staffRoleSchema.optional(),
    disabled: z.boolean().optional(),
    /** A new password set by the admin (a reset). */
    password: passwordSchema.optional(),
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, "Nothing to change.");

export async function updateStaff(actor: StaffIdentity, id: string, patch: z.output<typeof staffPatchSchema>) {
  // An admin who demotes or disables themselves could leave nobody able to administer Loopdesk.
  if (id === actor.id && ((patch.role && patch.role !== "admin") || patch.disabled)) {
    throw new ApiError(400, "self_lockout", "You cannot take away your own admin access.");
  }
  const { password, ...data } = patch;
  const user = await notFoundAsApiError(updateStaffUser(id, { ...data, ...(password ? { passwordHash: await hashPassword(password) } : {}) }));
  // Disabling or resetting the password ends the account's sessions; a role change applies on the next request anyway.
  if (patch.disabled || password) await deleteSessionsOf(id);
  await audit(actor.email, "staff.user_changed", id, { ...data, passwordReset: Boolean(password) });
  return user;
}

export const cannedSchema = z.object({
  title: z.string().trim().min(1, "The title is required.").max(200),
  body: z.string().trim().min(1, "The text is required.").max(5000),
});
export const cannedPatchSchema = cannedSchema.partial().refine((p) => Object.keys(p).length > 0, "Nothing to change.");

export async function createCanned(actor: StaffIdentity, data: z.output<typeof cannedSchema>) {
  const canned = await insertCannedResponse(data);
  await audit(actor.email, "canned.created", canned.id, { title: canned.title });
  return canned;
}

export async function updateCanned(actor: StaffIdentity, id: string, data: z.output<typeof cannedPatchSchema>) {
  const canned = await notFoundAsApiError(updateCannedResponse(id, data));
  await audit(actor.email, "canned.changed", id, data);
  return canned;
}

export async function deleteCanned(actor: StaffIdentity, id: string) {
  const canned = await notFoundAsApiError(deleteCannedResponse(id));
  await audit(actor.email, "canned.deleted", id, { title: canned.title });
}

/** Ids in paths are uuids; anything else cannot exist. */
export function parseId(id: string): string {
  if (!z.uuid().safeParse(id).success) throw new ApiError(404, "not_found", "No such record.");
  return id;
}

async function notFoundAsApiError<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2025") throw new ApiError(404, "not_found", "No such record.");
    throw err;
  }
}
