/** What admins do in the console: manage staff accounts (audited), and the shapes of their requests. */
import { z } from "zod";
import { audit } from "../db/audit";
import { deleteSessionsOf, updateStaffUser } from "../db/staff";
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
  const user = found(await updateStaffUser(id, { ...data, ...(password ? { passwordHash: await hashPassword(password) } : {}) }));
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

/** Ids in paths are uuids; anything else cannot exist. */
export function parseId(id: string): string {
  if (!z.uuid().safeParse(id).success) throw new ApiError(404, "not_found", "No such record.");
  return id;
}

/** A record a write found; a missing one (null) is a 404. */
export function found<T>(record: T | null): T {
  if (record === null) throw new ApiError(404, "not_found", "No such record.");
  return record;
}
