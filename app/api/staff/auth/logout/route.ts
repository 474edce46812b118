import { cookieValue, csrfFailure, json, route, sessionCookie } from "@/lib/http";
import { SESSION_COOKIE, logout } from "@/lib/auth/session";

// Idempotent: logging out without (or with a stale) session still clears the cookie.
export const POST = route(async (request) => {
  const csrf = csrfFailure(request);
  if (csrf) return csrf;
  const token = cookieValue(request.headers.get("cookie"), SESSION_COOKIE);
  if (token) await logout(token);
  return json({ ok: true }, 200, { "set-cookie": sessionCookie(request, SESSION_COOKIE, null) });
});
