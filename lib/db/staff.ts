/** Database access for staff accounts and their sessions. */
import { db } from "./client";
import { nullWhenMissing } from "./errors";
import type { StaffRole } from "../generated/prisma/client";

/** The columns of a staff user that may leave the server (never the password hash). */
const publicStaffColumns = {
  id: true,
  email: true,
  name: true,
  role: true,
  disabled: true,
  failedLogins: true,
  lockedUntil: true,
  createdAt: true,
} as const;

export async function insertStaffUser(data: { email: string; name: string; role: StaffRole; passwordHash: string }) {
  return db().staffUser.create({ data, select: publicStaffColumns });
}

export async function findStaffByEmail(email: string) {
  return db().staffUser.findUnique({ where: { email } });
}

export async function listStaffUsers() {
  return db().staffUser.findMany({ select: publicStaffColumns, orderBy: { createdAt: "asc" } });
}

/** Null when there is no such staff user. */
export async function updateStaffUser(
  id: string,
  data: { name?: string; role?: StaffRole; disabled?: boolean; passwordHash?: string },
) {
  // A password reset also clears any lockout: the admin has just vouched for the account.
  const unlock = data.passwordHash ? { failedLogins: 0, lockedUntil: null } : {};
  return nullWhenMissing(db().staffUser.update({ where: { id }, data: { ...data, ...unlock }, select: publicStaffColumns }));
}

/**
 * Counts a login attempt *before* its password is checked, in one conditional UPDATE, so concurrent
 * attempts cannot all pass the lock check: the `attempts`-th in a row locks the account (and the count
 * starts over). Null while the account is locked: the attempt must be refused unchecked. Otherwise
 * `lockedUntil` is set when this attempt was the last one allowed.
 */
export async function countLoginAttempt(id: string, attempts: number, lockMinutes: number): Promise<{ lockedUntil: Date | null } | null> {
  const now = new Date();
  const lockUntil = new Date(now.getTime() + lockMinutes * 60_000);
  const rows = await db().$queryRaw<{ lockedUntil: Date | null }[]>`
    UPDATE "StaffUser" SET
      "failedLogins" = CASE WHEN "failedLogins" + 1 >= ${attempts}::int THEN 0 ELSE "failedLogins" + 1 END,
      "lockedUntil" = CASE WHEN "failedLogins" + 1 >= ${attempts}::int THEN ${lockUntil}::timestamp END
    WHERE id = ${id}::uuid AND ("lockedUntil" IS NULL OR "lockedUntil" <= ${now}::timestamp)
    RETURNING "lockedUntil"`;
  return rows[0] ?? null;
}

/** After the right password: the attempts before it no longer count (nor the lock its own attempt set). */
export async function clearFailedLogins(id: string) {
  await db().staffUser.update({ where: { id }, data: { failedLogins: 0, lockedUntil: null } });
}

export async function insertSession(data: { id: string; staffUserId: string; expiresAt: Date }) {
  await db().staffSession.create({ data });
}

export async function findSession(id: string) {
  return db().staffSession.findUnique({
    where: { id },
    include: { staffUser: { select: { id: true, email: true, name: true, role: true, disabled: true } } },
  });
}

export async function touchSession(id: string, lastSeenAt: Date) {
  await db().staffSession.updateMany({ where: { id }, data: { lastSeenAt } });
}

export async function deleteSession(id: string) {
  await db().staffSession.deleteMany({ where: { id } });
}

export async function deleteSessionsOf(staffUserId: string) {
  await db().staffSession.deleteMany({ where: { staffUserId } });
}

/** Sessions past their lifetime or idle limit; nothing reads them any more. */
export async function deleteStaleSessions(idleSince: Date) {
  await db().staffSession.deleteMany({ where: { OR: [{ expiresAt: { lt: new Date() } }, { lastSeenAt: { lt: idleSince } }] } });
}
