/** Staff login: throttled, then checked against the password hash; sets the session cookie. */
import { z } from "zod";
import { CLIENT_ADDRESS_HEADER, csrfFailure, errorResponse, json, readJson, route, sessionCookie } from "@/lib/http";
import { SESSION_COOKIE, login } from "@/lib/auth/session";

// Only shape limits here: a wrong-looking email gets the same answer as a wrong password.
const credentials = z.object({ email: z.string().max(320), password: z.string().max(256) });

export const POST = route(async (request) => {
  // Login CSRF: a foreign page must not log the browser into an account of its choosing.
  const csrf = csrfFailure(request);
  if (csrf) return csrf;
  const { email, password } = await readJson(request, credentials);
  const result = await login(email, password, request.headers.get(CLIENT_ADDRESS_HEADER) ?? "unknown");
  if (result.ok) {
    return json({ staff: result.staff, expiresAt: result.expiresAt.toISOString() }, 200, {
      "set-cookie": sessionCookie(request, SESSION_COOKIE, result.token, result.expiresAt),
    });
  }
  if (result.code === "rate_limited") {
    const retryAfter = String(Math.ceil(result.retryAfterMs / 1000));
    return json({ error: { code: result.code, message: result.message } }, 429, { "retry-after": retryAfter });
  }
  return errorResponse(401, result.code, result.message);
});
