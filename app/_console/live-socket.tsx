"use client";
/**
 * The consoles' live connection: a socket.io connection to one namespace (authenticated by the
 * session cookie) while the page is open, and its indicator. Without a socket (namespace
 * unavailable, network down) the page polls instead, so it never goes stale.
 */
import { useEffect, useRef, useState } from "react";
import { io, type Socket } from "socket.io-client";
import styles from "./console.module.css";

/** Polling interval while the socket is down (LiveIndicator announces it). */
const POLL_MS = 20_000;

export type LiveState = "connecting" | "live" | "offline";

interface LiveSocketHandlers {
  /**
   * Adds the page's event handlers to a new socket (once per connection, so they should read
   * changing values through refs); may return a cleanup for when it closes.
   */
  attach: (socket: Socket) => (() => void) | void;
  /** Refetches what the socket would have pushed; runs every 20 s while it is down and the page visible. */
  poll: () => void;
}

/**
 * Keeps a socket to `namespace` open while mounted (a new one whenever `key` changes, e.g. the run
 * watched) and reports its state. The latest `poll` is used, so callers need not memoise the handlers.
 */
export function useLiveSocket(namespace: string, handlers: LiveSocketHandlers, key = ""): LiveState {
  const [state, setState] = useState<LiveState>("connecting");
  const latest = useRef(handlers);
  useEffect(() => {
    latest.current = handlers;
  });

  useEffect(() => {
    let socket: Socket | null = null;
    let detach: (() => void) | void;
    try {
      socket = io(namespace, { withCredentials: true, reconnectionDelayMax: 10_000 });
      socket.on("connect", () => setState("live"));
      socket.on("disconnect", () => setState("offline"));
      socket.on("connect_error", () => setState("offline"));
      detach = latest.current.attach(socket);
    } catch {
      setState("offline");
    }
    const poll = setInterval(() => {
      if (!socket?.connected && document.visibilityState === "visible") latest.current.poll();
    }, POLL_MS);
    return () => {
      clearInterval(poll);
      detach?.();
      socket?.disconnect();
    };
  }, [namespace, key]);
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
