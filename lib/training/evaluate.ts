/** Scores a classifier on a snapshot's holdout, in Node, exactly as it will serve. */
import { readFile } from "node:fs/promises";
import type { Classifier } from "../models/classifier";

export interface IntentScore {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface Evaluation {
  accuracy: number;
  macroF1: number;
  perIntent: Record<string, IntentScore>;
  /** Rows are true labels, columns predictions, both in `labels` order. */
  confusion: { labels: string[]; matrix: number[][] };
  n: number;
}

export async function readHoldout(snapshotPath: string): Promise<{ text: string; label: string }[]> {
  const lines = (await readFile(snapshotPath, "utf8")).split("\n").filter((l) => l.trim() !== "");
  return lines
    .map((l) => JSON.parse(l) as { text: string; label: string; split: string })
    .filter((r) => r.split === "holdout");
}

export async function evaluate(classifier: Classifier, rows: { text: string; label: string }[], batchSize = 32): Promise<Evaluation> {
  const predicted: string[] = [];
  for (let i = 0; i < rows.length; i += batchSize) {
    const probs = await classifier.probabilities(rows.slice(i, i + batchSize).map((r) => r.text));
    for (const p of probs) predicted.push(classifier.labels[p.indexOf(Math.max(...p))]!);
  }
  return score(rows.map((r) => r.label), predicted);
}

/** Accuracy, per-intent precision/recall/F1 and macro-F1 over the intents present in the holdout. */
export function score(truth: string[], predicted: string[]): Evaluation {
  const labels = [...new Set([...truth, ...predicted])].sort();
  const index = new Map(labels.map((l, i) => [l, i]));
  const matrix = labels.map(() => labels.map(() => 0));
  truth.forEach((t, i) => matrix[index.get(t)!]![index.get(predicted[i]!)!]!++);
  const perIntent: Record<string, IntentScore> = {};
  for (const [l, i] of index) {
    const tp = matrix[i]![i]!;
    const support = matrix[i]!.reduce((a, b) => a + b, 0);
    const predictedCount = matrix.reduce((a, row) => a + row[i]!, 0);
    const precision = predictedCount ? tp / predictedCount : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    perIntent[l] = { precision, recall, f1, support };
  }
  const present = Object.values(perIntent).filter((s) => s.support > 0);
  const correct = truth.filter((t, i) => t === predicted[i]).length;
  return {
    accuracy: truth.length ? correct / truth.length : 0,
    macroF1: present.length ? present.reduce((a, s) => a + s.f1, 0) / present.length : 0,
    perIntent,
    confusion: { labels, matrix },
    n: truth.length,
  };
}
