"use client";
import { useRouter } from "next/navigation";
import { useState } from "react";

/**
 * Sends a change to the staff API; on success the page's server component re-renders with fresh
 * data, on failure the API's error message is kept for display.
 */
export function useApi() {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function send(method: "POST" | "PATCH" | "DELETE", url: string, body?: unknown): Promise<boolean> {
    setBusy(true);
    setError(null);
    const res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch(() => null);
    setBusy(false);
    if (res?.ok) {
      router.refresh();
      return true;
    }
    const payload = (await res?.json().catch(() => null)) as { error?: { message: string } } | null;
    setError(payload?.error?.message ?? "Could not reach the server; try again.");
    return false;
  }

  return { send, error, busy };
}
