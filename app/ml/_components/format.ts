/** Formatting for the ML console's numbers (client and server). */

/** A 0–1 metric as a percentage with one decimal: "91.2%". */
export function pct(x: number | null | undefined): string {
  return x == null ? "–" : `${(x * 100).toFixed(1)}%`;
}

/** A difference of two 0–1 metrics in percentage points, signed: "+1.3 pts", "−0.4 pts". */
export function pts(delta: number): string {
  const v = (delta * 100).toFixed(1);
  if (v === "0.0" || v === "-0.0") return "±0.0 pts";
  return delta > 0 ? `+${v} pts` : `−${v.slice(1)} pts`;
}

/** The fraction of a run's training steps done, 0–1. */
export function runFraction(last: { step: number; steps: number } | null): number {
  return last && last.steps > 0 ? Math.min(1, last.step / last.steps) : 0;
}

/** Finite metric from a run's free-form metrics object, or null. */
export function metric(metrics: Record<string, unknown> | null, key: string): number | null {
  const v = metrics?.[key];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}
