/** Where staff land after logging in. Plain functions, shared by the login page and its form. */
import type { StaffRole } from "./roles";

const HOME: Record<StaffRole, string> = { agent: "/staff", ml: "/ml", admin: "/staff/admin", editor: "/staff/knowledge" };

export function homeFor(role: StaffRole): string {
  return HOME[role];
}

// A stand-in origin: the function runs on the server and in the browser, and only the path matters.
const SITE = "http://loopdesk.invalid";

/**
 * A `next` target from the query string, only if it is a path on this site (no open redirect). It is
 * parsed as the browser would (which drops tabs and newlines and reads `\` as `/`), and the normalised
 * path is returned, so what is checked is what the browser follows.
 */
export function safeNextPath(next: string | null | undefined): string | null {
  // Unparsable (such as `//[x`): no browser would follow it either.
  if (!next?.startsWith("/") || !URL.canParse(next, SITE)) return null;
  const url = new URL(next, SITE);
  if (url.origin !== SITE || url.pathname.startsWith("//")) return null;
  return url.pathname + url.search + url.hash;
}
