/**
 * Staff authentication for socket.io namespaces (`/staff`, `/ml`): the session cookie is checked at the
 * handshake, again on every event, and every 10 s for idle sockets (which does not count as the user's
 * activity); a socket whose session has ended (logged out, expired or idle, user disabled or demoted)
 * is told why and disconnected.
 */
import type { Namespace, Socket } from "socket.io";
import { hasRole, type StaffIdentity, type StaffRole } from "../auth/roles";
import { addressKey } from "../client-address";
import { log } from "../log";
import { ErrorCode, type ChatError } from "../protocol/errors";
import { socketRateLimits } from "./rate-limits";

/** How often idle sockets have their session checked again. */
const REVALIDATE_MS = 10_000;

export type StaffVerdict = { ok: true; staff: StaffIdentity } | { ok: false; error: ChatError };

/**
 * lib/auth/session.ts imports next/headers, whose request storage must not be created before Next has
 * set up its runtime (a static import from server.ts would break every page): load it on first use.
 */
let sessionModule: Promise<typeof import("../auth/session")> | undefined;
const session = () => (sessionModule ??= import("../auth/session"));

/**
 * Who the cookie belongs to, if they may use an area given by its roles; `denied` says what they may
 * not do. An event the user sends counts as activity; the periodic re-check passes `touch: false`.
 */
export async function authenticateStaff(
  cookieHeader: string | undefined,
  roles: readonly StaffRole[],
  denied: string,
  opts?: { touch?: boolean },
): Promise<StaffVerdict> {
  const staff = await (await session()).staffFromCookieHeader(cookieHeader, opts);
  if (!staff) return { ok: false, error: { code: ErrorCode.unauthenticated, message: "Sign in to the staff console." } };
  if (!hasRole(staff, roles)) return { ok: false, error: { code: ErrorCode.forbidden, message: denied } };
  return { ok: true, staff };
}

/**
 * A browser always sends Origin on a WebSocket handshake: it must be this host (the session cookie
 * is SameSite=Strict as well). Clients that send none (not browsers) are judged by the cookie alone.
 */
function foreignOrigin(headers: Record<string, string | string[] | undefined>): boolean {
  const origin = headers.origin;
  if (typeof origin !== "string" || origin === "") return false;
  const hosts = [headers["x-forwarded-host"], headers.host].flatMap((h) => (typeof h === "string" ? h.split(",").map((x) => x.trim()) : []));
  try {
    return !hosts.includes(new URL(origin).host);
  } catch {
    return true;
  }
}

type StaffSocketLike = Socket & { data: { staff: StaffIdentity } };

/** Tells a socket why its session ended, then disconnects it. */
export function endSession(socket: Socket, error: ChatError) {
  if (!socket.connected) return;
  socket.emit("chat:error" as never, error as never);
  // Let the acknowledgement and the error go out before the disconnect packet.
  setTimeout(() => socket.disconnect(true), 50);
}

/** Handshake check and periodic re-check of every socket of a staff namespace. */
export function requireStaffSockets(nsp: Namespace, roles: readonly StaffRole[], denied: string) {
  nsp.use((socket, next) => {
    const refuse = (error: ChatError) => {
      const err = new Error(error.message) as Error & { data: ChatError };
      err.data = error;
      next(err);
    };
    if (foreignOrigin(socket.handshake.headers)) return refuse({ code: ErrorCode.forbidden, message: "Cross-site connection refused." });
    // Throttled per address before the session lookup, so random cookies cannot flood the database.
    const verdict = async (): Promise<StaffVerdict> => {
      const throttled = await (await socketRateLimits()).staffHandshake(addressKey(socket.handshake.address));
      return throttled ? { ok: false, error: throttled } : authenticateStaff(socket.handshake.headers.cookie, roles, denied);
    };
    verdict().then(
      (v) => {
        if (!v.ok) return refuse(v.error);
        (socket as StaffSocketLike).data = { staff: v.staff };
        next();
      },
      (err: unknown) => {
        log.error({ err }, "staff handshake failed");
        refuse({ code: ErrorCode.unavailable, message: "The service is temporarily unavailable; please retry." });
      },
    );
  });
  // Idle sockets too stop receiving once their session ends.
  const timer = setInterval(() => {
    for (const socket of nsp.sockets.values()) {
      void authenticateStaff(socket.handshake.headers.cookie, roles, denied, { touch: false }).then(
        (v) => {
          if (!v.ok) endSession(socket, v.error);
        },
        (err: unknown) => log.warn({ err }, "staff session re-check failed"),
      );
    }
  }, REVALIDATE_MS);
  timer.unref();
}
