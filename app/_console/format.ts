/** Number and time formatting shared by both consoles' components (client and server). */

/** A 0–1 value as a percentage: "42%", or with `decimals` "91.2%"; "–" when unknown. */
export function percent(p: number | null | undefined, decimals = 0): string {
  if (p == null) return "–";
  return `${(p * 100).toFixed(decimals)}%`;
}

/** A difference of two 0–1 metrics in percentage points, signed: "+1.3 pts", "−0.4 pts". */
export function pts(delta: number): string {
  const v = (delta * 100).toFixed(1);
  if (v === "0.0" || v === "-0.0") return "±0.0 pts";
  return delta > 0 ? `+${v} pts` : `−${v.slice(1)} pts`;
}

/** How sure the classifier was, as a CSS class suffix: low < 0.5 ≤ mid < 0.8 ≤ high. */
export function confidenceLevel(p: number | null | undefined): "none" | "low" | "mid" | "high" {
  if (p == null) return "none";
  if (p < 0.5) return "low";
  if (p < 0.8) return "mid";
  return "high";
}

/** "42s", "5m", "3h 4m", "2d 3h". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, "0")}m`;
  const d = Math.floor(h / 24);
  return `${d}d ${h % 24}h`;
}

/** "just now", "5 min ago", "3 h ago", "4 Mar" */
export function ago(iso: string, now: number): string {
  const t = Date.parse(iso);
  const s = Math.round((now - t) / 1000);
  if (s < 45) return "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.round(h / 24);
  if (d < 7) return `${d} d ago`;
  return new Date(t).toLocaleDateString(undefined, { day: "numeric", month: "short", year: d > 300 ? "numeric" : undefined });
}

export function absolute(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}
