"use client";
/**
 * Live updates for the ML pages over the `/ml` socket.io namespace: `runs:changed` nudges, and for
 * one run its `run:event`s after `run:watch`, whose ack carries the run's current state (also after
 * a reconnect, so nothing missed while away is lost). While the socket is down the page polls instead.
 */
import { useRouter } from "next/navigation";
import { useEffect, useRef } from "react";
import type { Socket } from "socket.io-client";
import { ML_NAMESPACE, type MlToServerEvents, type RunEvent, type RunView, type ServerToMlEvents } from "@/lib/protocol/ml";
import { LiveIndicator, useLiveSocket, type LiveState } from "@/app/_console/live-socket";

interface LiveHandlers {
  /** Watch this run: onRun gets its full state on (re)connect and while polling, onEvent each live event. */
  runId?: string;
  onRun?: (run: RunView) => void;
  onEvent?: (event: RunEvent) => void;
  onRunsChanged?: () => void;
}

export function useMlLive(handlers: LiveHandlers): LiveState {
  const latest = useRef(handlers);
  useEffect(() => {
    latest.current = handlers;
  });
  const runId = handlers.runId;

  return useLiveSocket(
    ML_NAMESPACE,
    {
      attach: (untyped) => {
        const socket: Socket<ServerToMlEvents, MlToServerEvents> = untyped;
        socket.on("connect", () => {
          if (!runId) return;
          socket.emit("run:watch", { runId }, (ack) => {
            if (ack.ok) latest.current.onRun?.(ack.run);
          });
        });
        socket.on("run:event", (event) => {
          if (event.runId === runId) latest.current.onEvent?.(event);
        });
        socket.on("runs:changed", () => latest.current.onRunsChanged?.());
      },
      poll: async () => {
        latest.current.onRunsChanged?.();
        if (!runId) return;
        const res = await fetch(`/api/ml/runs/${runId}`, { cache: "no-store" }).catch(() => null);
        const body = (await res?.json().catch(() => null)) as { run?: RunView } | null;
        if (res?.ok && body?.run) latest.current.onRun?.(body.run);
      },
    },
    runId,
  );
}

/** Re-renders the page's server part whenever the list of runs changes (a run queued, started, finished). */
export function RunsRefresh() {
  const router = useRouter();
  const state = useMlLive({ onRunsChanged: () => router.refresh() });
  return <LiveIndicator state={state} />;
}
