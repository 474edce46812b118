/** A training run's numbers as the ML pages read them (client and server). */

/** The fraction of a run's training steps done, 0–1. */
export function runFraction(last: { step: number; steps: number } | null): number {
  return last && last.steps > 0 ? Math.min(1, last.step / last.steps) : 0;
}

/** Finite metric from a run's free-form metrics object, or null. */
export function metric(metrics: Record<string, unknown> | null, key: string): number | null {
  const v = metrics?.[key];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}
