"use client";
/** Ticking times for both consoles: one shared clock, "5 min ago" and elapsed durations. */
import { useEffect, useState } from "react";
import { ago, absolute, duration } from "./format";

/** One shared clock for every ticking time on the page. */
const listeners = new Set<(now: number) => void>();
let timer: ReturnType<typeof setInterval> | null = null;

export function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    listeners.add(setNow);
    setNow(Date.now());
    timer ??= setInterval(() => {
      const t = Date.now();
      for (const l of listeners) l(t);
    }, 1000);
    return () => {
      listeners.delete(setNow);
      if (listeners.size === 0 && timer) {
        clearInterval(timer);
        timer = null;
      }
    };
  }, []);
  return now;
}

/** "5 min ago", with the exact time on hover. */
export function Ago({ iso }: { iso: string }) {
  const now = useNow();
  return (
    <time dateTime={iso} title={absolute(iso)} suppressHydrationWarning>
      {ago(iso, now)}
    </time>
  );
}

/** Time elapsed since `iso`, ticking every second. */
export function Elapsed({ iso, className }: { iso: string; className?: string }) {
  const now = useNow();
  return (
    <time dateTime={iso} title={`since ${absolute(iso)}`} className={className} suppressHydrationWarning>
      {duration(now - Date.parse(iso))}
    </time>
  );
}
