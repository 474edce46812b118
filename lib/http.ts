/**
 * Small HTTP helpers shared by the API route handlers: the one error type and the error JSON every
 * API returns, size-limited body parsing, the CSRF origin check and the session cookie.
 */
import type { z } from "zod";
import { authConfig } from "./auth/config";
import { log } from "./log";

/**
 * An error with a stable code that `route` turns into `{ error: { code, message }, ...extra }`.
 * Library code throws it (or a subclass) for requests it cannot serve, so routes need no mapping.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** More top-level fields of the error body (e.g. a refused promotion's verdict). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** JSON that no shared cache may keep: staff responses depend on who asks. */
export function json(data: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(data, { status, headers: { "cache-control": "no-store", ...headers } });
}

/**
 * The header server.ts sets on every request to the address of the connection's peer, overwriting any
 * the client sent: like the socket limits, the login throttle trusts no X-Forwarded-For.
 */
export const CLIENT_ADDRESS_HEADER = "x-loopdesk-client-address";

export function errorResponse(status: number, code: string, message: string): Response {
  return json({ error: { code, message } }, status);
}

/** Wraps a route handler so ApiErrors become their JSON and anything else a 500 without a stack trace. */
export function route<Ctx>(handler: (request: Request, ctx: Ctx) => Promise<Response>) {
  return async (request: Request, ctx: Ctx): Promise<Response> => {
    try {
      return await handler(request, ctx);
    } catch (err) {
      if (err instanceof ApiError) return json({ error: { code: err.code, message: err.message }, ...err.extra }, err.status);
      log.error({ err, url: request.url }, "staff api error");
      return errorResponse(500, "internal", "Something went wrong.");
    }
  };
}

export const MAX_BODY_BYTES = 64 * 1024;

/** Reads a request body of at most `maxBytes` (413 `payload_too_large` beyond, also when chunked). */
export async function readBody(request: Request, maxBytes: number): Promise<Buffer> {
  const limit = maxBytes >= 1024 * 1024 ? `${maxBytes / 1024 / 1024} MB` : `${maxBytes / 1024} KB`;
  const tooLarge = new ApiError(413, "payload_too_large", `The request body may be at most ${limit}.`);
  if (Number(request.headers.get("content-length") ?? 0) > maxBytes) throw tooLarge;
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge;
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks);
}

/** Reads a JSON body of at most 64 KB (413 beyond) and validates it (400 invalid_payload). */
export async function readJson<S extends z.ZodType>(request: Request, schema: S): Promise<z.output<S>> {
  const bytes = await readBody(request, MAX_BODY_BYTES);
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new ApiError(400, "invalid_payload", "The request body must be JSON.");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ApiError(400, "invalid_payload", issuesMessage(parsed.error));
  return parsed.data;
}

/** A zod error as one line for people: "password: The password must be …; role: …". */
export function issuesMessage(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
}

/**
 * CSRF defence on top of the SameSite=Strict cookie: a state-changing request must come from a page
 * of this very host. Returns the 403 to send, or null when the request may proceed.
 */
export function csrfFailure(request: Request): Response | null {
  if (request.method === "GET" || request.method === "HEAD") return null;
  const source = request.headers.get("origin") ?? request.headers.get("referer");
  const host = request.headers.get("host");
  let sourceHost: string | null = null;
  try {
    sourceHost = source ? new URL(source).host : null;
  } catch {
    // a malformed Origin is treated like a missing one
  }
  return host && sourceHost === host ? null : errorResponse(403, "csrf", "Cross-site request refused.");
}

export function cookieValue(cookieHeader: string | null | undefined, name: string): string | undefined {
  for (const part of (cookieHeader ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

function isSecure(request: Request): boolean {
  const setting = authConfig().STAFF_COOKIE_SECURE;
  if (setting !== "auto") return setting === "true";
  // Behind a TLS-terminating proxy the app itself sees http; the proxy says what the browser used.
  const forwarded = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim();
  return (forwarded ?? new URL(request.url).protocol.slice(0, -1)) === "https";
}

/** The Set-Cookie value for a session token; `null` clears the cookie. */
export function sessionCookie(request: Request, name: string, token: string | null, expiresAt?: Date): string {
  const parts = [`${name}=${token ?? ""}`, "Path=/", "HttpOnly", "SameSite=Strict"];
  if (isSecure(request)) parts.push("Secure");
  parts.push(token && expiresAt ? `Expires=${expiresAt.toUTCString()}` : "Max-Age=0");
  return parts.join("; ");
}
