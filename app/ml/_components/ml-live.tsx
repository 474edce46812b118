"use client";
/**
 * Live updates for the ML pages over the `/ml` socket.io namespace (authenticated by the session
 * cookie): `runs:changed` nudges, and for one run its `run:event`s after `run:watch`, whose ack carries
 * the run's current state (also after a reconnect, so nothing missed while away is lost). While the
 * socket is down the page polls instead.
 */
import { useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { io, type Socket } from "socket.io-client";
import { ML_NAMESPACE, type MlToServerEvents, type RunEvent, type RunView, type ServerToMlEvents } from "@/lib/protocol/ml";
import { LiveIndicator, type LiveState } from "@/app/staff/_components/inbox-live";

// The same interval LiveIndicator announces while offline.
const POLL_MS = 20_000;

interface LiveHandlers {
  /** Watch this run: onRun gets its full state on (re)connect and while polling, onEvent each live event. */
  runId?: string;
  onRun?: (run: RunView) => void;
  onEvent?: (event: RunEvent) => void;
  onRunsChanged?: () => void;
}

export function useMlLive(handlers: LiveHandlers): LiveState {
  const [state, setState] = useState<LiveState>("connecting");
  const latest = useRef(handlers);
  useEffect(() => {
    latest.current = handlers;
  });
  const runId = handlers.runId;

  useEffect(() => {
    const socket: Socket<ServerToMlEvents, MlToServerEvents> = io(ML_NAMESPACE, { withCredentials: true, reconnectionDelayMax: 10_000 });
    socket.on("connect", () => {
      setState("live");
      if (!runId) return;
      socket.emit("run:watch", { runId }, (ack) => {
        if (ack.ok) latest.current.onRun?.(ack.run);
      });
    });
    socket.on("disconnect", () => setState("offline"));
    socket.on("connect_error", () => setState("offline"));
    socket.on("run:event", (event) => {
      if (event.runId === runId) latest.current.onEvent?.(event);
    });
    socket.on("runs:changed", () => latest.current.onRunsChanged?.());

    const poll = setInterval(async () => {
      if (socket.connected || document.visibilityState !== "visible") return;
      latest.current.onRunsChanged?.();
      if (!runId) return;
      const res = await fetch(`/api/ml/runs/${runId}`, { cache: "no-store" }).catch(() => null);
      const body = (await res?.json().catch(() => null)) as { run?: RunView } | null;
      if (res?.ok && body?.run) latest.current.onRun?.(body.run);
    }, POLL_MS);
    return () => {
      clearInterval(poll);
      socket.disconnect();
    };
  }, [runId]);
  return state;
}

/** Re-renders the page's server part whenever the list of runs changes (a run queued, started, finished). */
export function RunsRefresh() {
  const router = useRouter();
  const state = useMlLive({ onRunsChanged: () => router.refresh() });
  return <LiveIndicator state={state} />;
}
