"use client";
/**
 * Same-origin calls to the consoles' APIs (/api/staff/*, /api/ml/*): the session cookie goes along,
 * errors keep the API's message. A Blob body (a file to import) is sent raw, anything else as JSON.
 */
import { useRouter } from "next/navigation";
import { useState } from "react";

export type ApiResult<T> = { ok: true; status: number; body: T } | { ok: false; status: number; message: string; body: unknown };

export async function callApi<T>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", url: string, body?: unknown): Promise<ApiResult<T>> {
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

/**
 * Sends changes with callApi; on success the page's server component re-renders with fresh data,
 * on failure the API's error message is kept for display.
 */
export function useApi() {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function send(method: "POST" | "PUT" | "PATCH" | "DELETE", url: string, body?: unknown): Promise<boolean> {
    setBusy(true);
    setError(null);
    const result = await callApi(method, url, body);
    setBusy(false);
    if (result.ok) {
      router.refresh();
      return true;
    }
    setError(result.message);
    return false;
  }

  return { send, error, busy };
}
