"use client";
/** POSTs staff's verdict on one message (its intent label or reply feedback) and returns the updated message. */
import { callApi } from "@/app/_console/api";
import type { MessageUpdateResponse, StaffMessage } from "@/lib/protocol/staff";

export type MessageUpdateResult = { ok: true; message: StaffMessage } | { ok: false; message: string };

export async function postMessageUpdate(url: string, body: unknown): Promise<MessageUpdateResult> {
  const r = await callApi<Partial<MessageUpdateResponse>>("POST", url, body);
  if (r.ok && r.body?.message) return { ok: true, message: r.body.message };
  if (r.status === 401) return { ok: false, message: "Your session has ended — sign in again." };
  return { ok: false, message: r.ok ? `Request failed (${r.status}).` : r.message };
}
