/**
 * Scoring what the product does with out-of-scope messages (bench:classifier): the decision is
 * lib/chat/decide.ts itself, these are only the counts around it, and the folds that keep near-identical
 * texts on one side.
 */
import { createHash } from "node:crypto";
import { answeredIntent, decide, DEFAULT_INTENT_THRESHOLD, OUT_OF_SCOPE, type Classification } from "../chat/decide";

/**
 * The key texts are grouped by before folding: lower case, punctuation and symbols removed, whitespace
 * collapsed ("My top-up is still pending" and "my top up is still pending?" share one).
 */
export function groupKey(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, " ")
    .split(/\s+/)
    .filter(Boolean)
    .join(" ");
}

/**
 * Fold `k` of `parts`, stratified and grouped: rows are grouped by groupKey (a group takes the label of its
 * first row), each label's groups are ordered by sha256(salt + key), and every `parts`-th group is held
 * out, so two rows with one key are always on the same side.
 */
export function groupedFold<T extends { text: string; label: string }>(rows: T[], parts: number, k: number, salt = ""): { rest: T[]; fold: T[] } {
  const groups = new Map<string, T[]>();
  for (const r of rows) {
    const key = groupKey(r.text);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const byLabel = new Map<string, { hash: string; rows: T[] }[]>();
  for (const [key, members] of groups) {
    const label = members[0]!.label;
    const hash = createHash("sha256").update(salt + key).digest("hex");
    byLabel.set(label, [...(byLabel.get(label) ?? []), { hash, rows: members }]);
  }
  const held = new Set<T>();
  for (const list of byLabel.values()) {
    list.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
    list.forEach((g, i) => {
      if (i % parts === k) for (const r of g.rows) held.add(r);
    });
  }
  return { rest: rows.filter((r) => !held.has(r)), fold: rows.filter((r) => held.has(r)) };
}

/** Rows of `rows` whose groupKey is not among `others`' (the ones that are, and would straddle, are returned apart). */
export function withoutGroupsOf<T extends { text: string }>(rows: T[], others: { text: string }[]): { kept: T[]; dropped: T[] } {
  const keys = new Set(others.map((o) => groupKey(o.text)));
  const kept: T[] = [];
  const dropped: T[] = [];
  for (const r of rows) (keys.has(groupKey(r.text)) ? dropped : kept).push(r);
  return { kept, dropped };
}

/**
 * Area under the ROC curve of `score` for telling positives from negatives (the Mann-Whitney U statistic,
 * ties counted half); null without both kinds.
 */
export function auroc(positives: number[], negatives: number[]): number | null {
  if (positives.length === 0 || negatives.length === 0) return null;
  const all = [...positives.map((s) => ({ s, pos: true })), ...negatives.map((s) => ({ s, pos: false }))].sort((a, b) => a.s - b.s);
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]!.s === all[i]!.s) j++;
    const rank = (i + 1 + j) / 2; // average of the 1-based ranks i+1 … j
    for (let x = i; x < j; x++) if (all[x]!.pos) rankSum += rank;
    i = j;
  }
  const n1 = positives.length;
  return (rankSum - (n1 * (n1 + 1)) / 2) / (n1 * negatives.length);
}

export interface OosOutcome {
  /** In-scope rows answered as their own intent. */
  inScopeAccuracy: number | null;
  /** Out-of-scope rows not answered as any intent. */
  oosRecall: number | null;
  /** Of the rows not answered as an intent, the share that are out of scope. */
  oosPrecision: number | null;
  nInScope: number;
  nOos: number;
}

/**
 * What the product's decision (decide.ts, a first turn: no streak, no help-centre match, no clarifying
 * topics) does with each classified row. `label` is the truth, OUT_OF_SCOPE for out-of-scope rows.
 */
export function oosOutcome(rows: { label: string; classification: Classification }[]): OosOutcome {
  const configured = { global: DEFAULT_INTENT_THRESHOLD, perIntent: {} };
  let right = 0;
  let recalled = 0;
  let rejected = 0;
  let nOos = 0;
  for (const { label, classification } of rows) {
    const answered = answeredIntent(decide(classification, 0, configured));
    const isOos = label === OUT_OF_SCOPE;
    if (isOos) nOos++;
    if (answered === null) {
      rejected++;
      if (isOos) recalled++;
    } else if (!isOos && answered === label) right++;
  }
  const nInScope = rows.length - nOos;
  return {
    inScopeAccuracy: nInScope ? right / nInScope : null,
    oosRecall: nOos ? recalled / nOos : null,
    oosPrecision: rejected ? recalled / rejected : null,
    nInScope,
    nOos,
  };
}
