/**
 * Dataset snapshots: all labelled data frozen into one JSON Lines file, the only input of the
 * trainer (training/snapshot.py reads and validates it). The same data always gives the same bytes,
 * so a snapshot's sha256 identifies what a model was trained on.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { labelledSources } from "../db/examples";
import { byCodeUnits, HOLDOUT_PERCENT, splitOf, textKey } from "../text";
import { redactPersonalData } from "./redact";

export type SnapshotSource = "seed" | "import" | "staff";

export interface SnapshotRow {
  text: string;
  label: string;
  split: "train" | "holdout";
  source: SnapshotSource;
}

export interface SnapshotManifest {
  /** Of the JSONL file's bytes. */
  sha256: string;
  created_at: string;
  rows: number;
  per_intent: Record<string, { train: number; holdout: number }>;
  per_source: Record<SnapshotSource, number>;
  holdout_percent: number;
}

export async function exportSnapshot(options: {
  outPath?: string;
  dataDir: string;
}): Promise<{ path: string; manifestPath: string; manifest: SnapshotManifest }> {
  const rows = await labelledData();
  const labels = new Set(rows.map((r) => r.label));
  if (rows.length === 0) throw new Error("nothing to export: there are no training examples and no staff-labelled messages");
  if (labels.size < 2) throw new Error(`only one label (${[...labels].join("")}) has data: a classifier needs at least 2`);

  const bytes = Buffer.from(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const outPath = path.resolve(options.outPath ?? path.join(options.dataDir, "snapshots", `snapshot-${sha256.slice(0, 12)}.jsonl`));
  const manifestPath = `${outPath.replace(/\.jsonl$/, "")}.manifest.json`;
  const manifest: SnapshotManifest = {
    sha256,
    created_at: new Date().toISOString(),
    rows: rows.length,
    per_intent: perIntent(rows),
    per_source: { seed: 0, import: 0, staff: 0 },
    holdout_percent: HOLDOUT_PERCENT,
  };
  for (const r of rows) manifest.per_source[r.source]++;

  await writeAtomically(outPath, bytes);
  await writeAtomically(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { path: outPath, manifestPath, manifest };
}

/**
 * Every TrainingExample, and every customer message labelled by staff or by the customer's pick on a
 * clarifying question, under its newest label, each text with its personal data replaced by
 * placeholders (lib/dataset/redact.ts). Staff labels are the newest truth, so they override an example
 * with the same normalised text (and of two messages with the same text the newer label wins). Sorted
 * by label, then normalised text.
 */
export async function labelledData(): Promise<SnapshotRow[]> {
  const { examples, staff } = await labelledSources();
  const byKey = new Map<string, SnapshotRow>();
  const add = (text: string, label: string, source: SnapshotSource) => {
    const redacted = redactPersonalData(text);
    byKey.set(textKey(redacted), { text: redacted, label, split: splitOf(redacted), source });
  };
  for (const e of examples) add(e.text, e.label, e.source);
  for (const m of staff) add(m.text, m.label, "staff");
  return [...byKey.entries()].sort(([ka, a], [kb, b]) => byCodeUnits(a.label, b.label) || byCodeUnits(ka, kb)).map(([, row]) => row);
}


function perIntent(rows: SnapshotRow[]): SnapshotManifest["per_intent"] {
  const counts: SnapshotManifest["per_intent"] = {};
  for (const r of rows) {
    counts[r.label] ??= { train: 0, holdout: 0 };
    counts[r.label]![r.split]++;
  }
  return counts;
}

/** Readers never see a half-written file: write beside it (creating the folder), then rename over it. */
export async function writeAtomically(file: string, data: string | Buffer): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(temp, data);
    await rename(temp, file);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}
