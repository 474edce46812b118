"use client";
/**
 * Live refresh for the staff lists: the /staff socket's `inbox:changed` nudges, batched into one
 * callback (or a poll while the socket is down).
 */
import { useEffect, useRef } from "react";
import { STAFF_NAMESPACE } from "@/lib/protocol/staff";
import { useLiveSocket, type LiveState } from "@/app/_console/live-socket";

/** Nudges arriving within this window become one refetch. */
const BATCH_MS = 400;

/** Calls `onChange(conversationIds)` after inbox changes (batched), or with none every 20 s while offline. */
export function useInboxLive(onChange: (conversationIds: string[]) => void): LiveState {
  const callback = useRef(onChange);
  useEffect(() => {
    callback.current = onChange;
  });
  return useLiveSocket(STAFF_NAMESPACE, {
    attach: (socket) => {
      let pending = new Set<string>();
      let batch: ReturnType<typeof setTimeout> | null = null;
      const flush = () => {
        batch = null;
        const ids = [...pending];
        pending = new Set();
        callback.current(ids);
      };
      socket.on("inbox:changed", (p: { conversationId?: string }) => {
        if (typeof p?.conversationId === "string") pending.add(p.conversationId);
        batch ??= setTimeout(flush, BATCH_MS);
      });
      return () => {
        if (batch) clearTimeout(batch);
      };
    },
    poll: () => callback.current([]),
  });
}
