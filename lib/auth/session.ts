/**
 * Staff authentication: argon2id password hashes, server-side sessions in Postgres (the cookie holds a
 * random token, the table only its sha256), idle and absolute expiry, a login throttle per address and
 * per email, and lockout after repeated failures.
 * Route handlers call requireStaff, pages requireStaffPage, socket.io handshakes staffFromCookieHeader.
 */
import { createHash, randomBytes } from "node:crypto";
import { hash, verify } from "@node-rs/argon2";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { z } from "zod";
import { audit } from "../db/audit";
import { isUniqueViolation } from "../db/errors";
import {
  clearFailedLogins,
  countLoginAttempt,
  deleteSession,
  deleteStaleSessions,
  findSession,
  findStaffByEmail,
  insertSession,
  insertStaffUser,
  touchSession,
} from "../db/staff";
import { authConfig } from "./config";
import { throttleLogin } from "./login-throttle";
import { STAFF_ROLES, hasRole, type StaffIdentity, type StaffRole } from "./roles";
import { ApiError, cookieValue, csrfFailure, errorResponse, issuesMessage } from "../http";

export { AREA_ROLES, STAFF_ROLES, hasRole, type StaffIdentity, type StaffRole } from "./roles";

export const SESSION_COOKIE = "loopdesk_staff";

export const MIN_PASSWORD_LENGTH = 10;

export const emailSchema = z.string().trim().toLowerCase().max(320).pipe(z.email("Enter a valid email address."));
export const passwordSchema = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`)
  .max(256, "The password may be at most 256 characters long.");
export const staffRoleSchema = z.enum(STAFF_ROLES);
export const newStaffSchema = z.object({
  email: emailSchema,
  name: z.string().trim().min(1, "The name is required.").max(100),
  role: staffRoleSchema,
  password: passwordSchema,
});

/** Validates and creates a staff account; throws ApiError invalid_payload or email_taken. */
export async function createStaffUser(input: z.input<typeof newStaffSchema>, actor = "system"): Promise<StaffIdentity> {
  const parsed = newStaffSchema.safeParse(input);
  if (!parsed.success) throw new ApiError(400, "invalid_payload", issuesMessage(parsed.error));
  const { password, ...data } = parsed.data;
  try {
    const user = await insertStaffUser({ ...data, passwordHash: await hashPassword(password) });
    await audit(actor, "staff.user_created", user.id, { email: user.email, role: user.role });
    return identity(user);
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new ApiError(409, "email_taken", `A staff account for ${data.email} already exists.`);
    }
    throw err;
  }
}

/** argon2id with the library's defaults (19 MiB, 2 passes: the OWASP recommendation). */
export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

// Unknown emails and locked accounts are checked against this, so they take as long as a wrong password.
let dummyHash: Promise<string> | undefined;
const checkDummy = async (password: string) => {
  dummyHash ??= hashPassword("not the password of anyone");
  await verify(await dummyHash, password);
};

type LoginResult =
  | { ok: true; token: string; staff: StaffIdentity; expiresAt: Date }
  | { ok: false; code: "invalid_credentials"; message: string }
  | { ok: false; code: "rate_limited"; message: string; retryAfterMs: number };

const INVALID: LoginResult = { ok: false, code: "invalid_credentials", message: "Wrong email or password." };

/**
 * `clientAddress` is the peer the request came from (for the throttle). A locked account, an unknown
 * email, a disabled account and a wrong password all get the same answer, in about the same time, so
 * nothing tells which accounts exist or are locked.
 */
export async function login(email: string, password: string, clientAddress: string): Promise<LoginResult> {
  const cfg = authConfig();
  const address = email.trim().toLowerCase();
  const waitMs = await throttleLogin(clientAddress, address);
  if (waitMs !== null) {
    const message = `Too many login attempts; please try again in ${Math.ceil(waitMs / 1000)} s.`;
    return { ok: false, code: "rate_limited", message, retryAfterMs: waitMs };
  }
  const user = await findStaffByEmail(address);
  if (!user) {
    await checkDummy(password);
    await audit("anonymous", "staff.login_failed", address.slice(0, 320), { reason: "unknown_email" });
    return INVALID;
  }
  // Counted before the check (M1): a burst of guesses gets at most STAFF_LOCKOUT_ATTEMPTS of them checked.
  const attempt = await countLoginAttempt(user.id, cfg.STAFF_LOCKOUT_ATTEMPTS, cfg.STAFF_LOCKOUT_MINUTES);
  if (!attempt) {
    await checkDummy(password);
    await audit("anonymous", "staff.login_failed", user.id, { reason: "locked" });
    return INVALID;
  }
  const valid = await verify(user.passwordHash, password);
  if (user.disabled || !valid) {
    await audit("anonymous", "staff.login_failed", user.id, { reason: user.disabled ? "disabled" : "wrong_password" });
    if (attempt.lockedUntil) await audit("system", "staff.locked", user.id, { until: attempt.lockedUntil.toISOString() });
    return INVALID;
  }
  await clearFailedLogins(user.id);
  // Sessions past their time are only ever deleted here and on access; logins are frequent enough.
  await deleteStaleSessions(idleCutoff());
  const token = randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + cfg.STAFF_SESSION_HOURS * 3_600_000);
  await insertSession({ id: sessionId(token), staffUserId: user.id, expiresAt });
  await audit(user.email, "staff.login", user.id);
  return { ok: true, token, staff: identity(user), expiresAt };
}

export async function logout(token: string): Promise<void> {
  await deleteSession(sessionId(token));
}

// lastSeenAt is written at most this often, so a busy inbox does not turn every request into a write.
const TOUCH_INTERVAL_MS = 30_000;

/**
 * The staff member a session token belongs to, if the session is live. `touch: false` checks without
 * counting as activity: the server's own periodic re-check of open sockets must not keep an
 * unattended console signed in past the idle timeout.
 */
export async function staffFromToken(token: string | undefined | null, { touch = true } = {}): Promise<StaffIdentity | null> {
  if (!token || token.length > 100) return null;
  const id = sessionId(token);
  const session = await findSession(id);
  if (!session) return null;
  const now = new Date();
  if (session.expiresAt <= now || session.lastSeenAt < idleCutoff()) {
    await deleteSession(id);
    return null;
  }
  if (session.staffUser.disabled) return null;
  if (touch && now.getTime() - session.lastSeenAt.getTime() > TOUCH_INTERVAL_MS) await touchSession(id, now);
  return identity(session.staffUser);
}

export async function staffFromCookieHeader(cookieHeader: string | undefined, opts?: { touch?: boolean }): Promise<StaffIdentity | null> {
  return staffFromToken(cookieValue(cookieHeader, SESSION_COOKIE), opts);
}

/**
 * Route handlers: returns the staff member, or a JSON Response (401 not logged in, 403 wrong role,
 * 403 csrf) to return as is. Non-GET/HEAD requests must carry an Origin (or Referer) whose host equals
 * the request's Host header; the session cookie is also SameSite=Strict.
 */
export async function requireStaff(request: Request, roles: readonly StaffRole[]): Promise<StaffIdentity | Response> {
  const csrf = csrfFailure(request);
  if (csrf) return csrf;
  const staff = await staffFromCookieHeader(request.headers.get("cookie") ?? undefined);
  if (!staff) return errorResponse(401, "unauthenticated", "Log in as staff first.");
  if (!hasRole(staff, roles)) return errorResponse(403, "forbidden", "Your role may not do this.");
  return staff;
}

/**
 * Server components: the staff member, or a redirect to the login page when not logged in (back to
 * `path` afterwards, when given: Next does not tell a server component its own URL), or to the login
 * page's "no access" notice for the wrong role.
 */
export async function requireStaffPage(roles: readonly StaffRole[], path?: string): Promise<StaffIdentity> {
  const staff = await staffFromToken((await cookies()).get(SESSION_COOKIE)?.value);
  const loginUrl = (param: "next" | "denied") => `/staff/login?${new URLSearchParams({ [param]: path ?? "" })}`;
  if (!staff) return redirect(path ? loginUrl("next") : "/staff/login");
  if (!hasRole(staff, roles)) return redirect(loginUrl("denied"));
  return staff;
}

function sessionId(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

function idleCutoff(): Date {
  return new Date(Date.now() - authConfig().STAFF_SESSION_IDLE_MINUTES * 60_000);
}

function identity(user: { id: string; email: string; name: string; role: StaffRole }): StaffIdentity {
  return { id: user.id, email: user.email, name: user.name, role: user.role };
}
