/** Where staff land after logging in. Plain functions, shared by the login page and its form. */
import type { StaffRole } from "./roles";

const HOME: Record<StaffRole, string> = { agent: "/staff", ml: "/ml", admin: "/staff/admin", editor: "/staff/knowledge" };

export function homeFor(role: StaffRole): string {
  return HOME[role];
}

/** A `next` target from the query string, only if it is a path on this site (no open redirect). */
export function safeNextPath(next: string | null | undefined): string | null {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.includes("\\") ? next : null;
}
