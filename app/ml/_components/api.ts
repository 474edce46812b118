"use client";
/**
 * Same-origin calls to /api/ml/* from the ML pages: the session cookie goes along, errors keep the API's
 * message. A Blob body (a file to import) is sent raw, anything else as JSON.
 */

export type ApiResult<T> = { ok: true; status: number; body: T } | { ok: false; status: number; message: string; body: unknown };

export async function callApi<T>(method: "GET" | "POST", url: string, body?: unknown): Promise<ApiResult<T>> {
  const json = body !== undefined && !(body instanceof Blob);
  const res = await fetch(url, {
    method,
    headers: json ? { "content-type": "application/json" } : undefined,
    body: body === undefined ? undefined : json ? JSON.stringify(body) : (body as Blob),
    cache: "no-store",
  }).catch(() => null);
  if (!res) return { ok: false, status: 0, message: "Could not reach the server; try again.", body: null };
  const payload: unknown = await res.json().catch(() => null);
  if (res.ok) return { ok: true, status: res.status, body: payload as T };
  const message = (payload as { error?: { message?: string } } | null)?.error?.message ?? `The server answered ${res.status}.`;
  return { ok: false, status: res.status, message, body: payload };
}
