"use client";
/**
 * Live refresh for the staff lists: a socket.io connection to the /staff namespace (authenticated by
 * the session cookie) whose `inbox:changed` nudges are batched into one callback. Without a socket
 * (namespace unavailable, network down) the lists fall back to polling, so they never go stale.
 */
import { useEffect, useRef, useState } from "react";
import { io, type Socket } from "socket.io-client";
import styles from "./inbox.module.css";

const STAFF_NAMESPACE = "/staff";
/** Nudges arriving within this window become one refetch. */
const BATCH_MS = 400;
/** Polling interval while the socket is down. */
const POLL_MS = 20_000;

export type LiveState = "connecting" | "live" | "offline";

/** Calls `onChange(conversationIds)` after inbox changes (batched), or every 20 s while offline. */
export function useInboxLive(onChange: (conversationIds: string[]) => void): LiveState {
  const [state, setState] = useState<LiveState>("connecting");
  const callback = useRef(onChange);
  useEffect(() => {
    callback.current = onChange;
  });

  useEffect(() => {
    let pending = new Set<string>();
    let batch: ReturnType<typeof setTimeout> | null = null;
    const flush = () => {
      batch = null;
      const ids = [...pending];
      pending = new Set();
      callback.current(ids);
    };
    let socket: Socket | null = null;
    try {
      socket = io(STAFF_NAMESPACE, { withCredentials: true, reconnectionDelayMax: 10_000 });
      socket.on("connect", () => setState("live"));
      socket.on("disconnect", () => setState("offline"));
      socket.on("connect_error", () => setState("offline"));
      socket.on("inbox:changed", (p: { conversationId?: string }) => {
        if (typeof p?.conversationId === "string") pending.add(p.conversationId);
        batch ??= setTimeout(flush, BATCH_MS);
      });
    } catch {
      setState("offline");
    }
    const poll = setInterval(() => {
      if (!socket?.connected && document.visibilityState === "visible") callback.current([]);
    }, POLL_MS);
    return () => {
      clearInterval(poll);
      if (batch) clearTimeout(batch);
      socket?.disconnect();
    };
  }, []);
  return state;
}

export function LiveIndicator({ state }: { state: LiveState }) {
  const label = state === "live" ? "Live" : state === "connecting" ? "Connecting…" : "Offline — refreshing every 20 s";
  return (
    <span className={`${styles.live} ${state === "live" ? styles.liveOn : ""}`} role="status" title={label} data-live={state}>
      <span className={styles.liveDot} />
      {label}
    </span>
  );
}
