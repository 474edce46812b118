/** Text rules shared by imports, exports and the Python trainer (training/snapshot.py must agree). */
import { createHash } from "node:crypto";

/** Lower-cased, whitespace-collapsed: the key under which a text is one example. */
export function textKey(text: string): string {
  return text.toLowerCase().replace(/\s+/g, " ").trim();
}

export const HOLDOUT_PERCENT = 20;

/**
 * Deterministic split by a hash of the normalised text: the same text is always in the same split,
 * so the holdout never leaks into training across runs, whatever else the data holds.
 */
export function splitOf(text: string): "train" | "holdout" {
  const bucket = parseInt(createHash("sha256").update(textKey(text)).digest("hex").slice(0, 8), 16) % 100;
  return bucket < HOLDOUT_PERCENT ? "holdout" : "train";
}

/** Orders strings by UTF-16 code units, never by locale, so that every machine sorts alike. */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
