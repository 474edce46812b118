/** Staff sessions and API calls for integration tests: logs in through the real endpoint. */
import { expect } from "vitest";

/** Returns the Cookie header the server set for this staff member's session. */
export async function staffLogin(serverUrl: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${serverUrl}/api/staff/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: serverUrl },
    body: JSON.stringify({ email, password }),
  });
  expect(res.status).toBe(200);
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  expect(cookie).toMatch(/=/);
  return cookie;
}

/**
 * A staff API call as the browser makes it: the session cookie, and an Origin of this site on
 * state-changing requests (the CSRF check) unless `origin` says otherwise (null: none).
 */
export async function staffApi<T = any>(
  serverUrl: string,
  urlPath: string,
  opts: { cookie?: string; method?: string; body?: unknown; origin?: string | null } = {},
): Promise<{ status: number; json: T }> {
  const method = opts.method ?? "GET";
  const headers: Record<string, string> = {};
  if (opts.cookie) headers.cookie = opts.cookie;
  const origin = opts.origin === undefined ? (method === "GET" ? null : serverUrl) : opts.origin;
  if (origin) headers.origin = origin;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${serverUrl}${urlPath}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), redirect: "manual" });
  return { status: res.status, json: (await res.json().catch(() => null)) as T };
}
