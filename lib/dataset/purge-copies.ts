/**
 * The copies of purged customer data on disk (for `loopdesk data purge`): dataset snapshots — in the
 * data folder, or wherever a training run recorded one — are deleted whole with their manifests when
 * any row holds a purged labelled text or comes from a purged conversation; each model version's
 * holdout predictions (predictions.jsonl) lose the rows holding a purged text. A line that does not
 * parse is kept and skipped, never a reason to stop.
 */
import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import type { PurgedData } from "../db/retention";
import { modelStorePath } from "../models/store";
import { textKey } from "../text";
import { writeAtomically } from "./export";
import { redactPersonalData } from "./redact";

interface Row {
  text?: string;
  source?: string;
  group?: string;
}

/** Finds (and unless `dryRun`, removes) the copies; returns the files concerned. */
export async function removePurgedCopies(data: PurgedData, opts: { snapshotsDir: string; dryRun: boolean }): Promise<string[]> {
  if (data.labelledTexts.length === 0 && data.groups.length === 0) return [];
  // Snapshots hold a text with its personal data replaced (lib/dataset/redact.ts); older ones as written.
  const texts = new Set(data.labelledTexts.flatMap((t) => [textKey(t), textKey(redactPersonalData(t))]));
  const groups = new Set(data.groups);
  const touched: string[] = [];

  const inDataFolder = (await readdir(opts.snapshotsDir).catch(() => [] as string[])).filter((f) => f.endsWith(".jsonl")).map((f) => path.join(opts.snapshotsDir, f));
  const snapshots = [...new Set([...inDataFolder, ...data.snapshotPaths.map((p) => path.resolve(p))])].sort();
  for (const file of snapshots) {
    const rows = await readRows(file);
    const holds = rows?.some((row) => (row.source === "staff" && texts.has(textKey(row.text ?? ""))) || (row.group !== undefined && groups.has(row.group)));
    if (!holds) continue;
    const manifest = file.replace(/\.jsonl$/, ".manifest.json");
    touched.push(file, manifest);
    if (!opts.dryRun) await Promise.all([rm(file, { force: true }), rm(manifest, { force: true })]);
  }

  for (const modelPath of [...new Set(data.modelPaths)].sort()) {
    const file = path.join(modelStorePath(modelPath), "predictions.jsonl");
    const lines = await readLines(file);
    if (!lines) continue;
    const kept = lines.filter((line) => !texts.has(textKey(parse(line)?.text ?? "")));
    if (kept.length === lines.length) continue;
    touched.push(file);
    if (!opts.dryRun) await writeAtomically(file, kept.map((line) => `${line}\n`).join(""));
  }
  return touched;
}

/** The file's non-empty lines; null when there is no such file (any other failure throws: retry later). */
async function readLines(file: string): Promise<string[] | null> {
  try {
    return (await readFile(file, "utf8")).split("\n").filter(Boolean);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

async function readRows(file: string): Promise<Row[] | null> {
  return (await readLines(file))?.flatMap((line) => parse(line) ?? []) ?? null;
}

function parse(line: string): Row | null {
  try {
    const row: unknown = JSON.parse(line);
    return row !== null && typeof row === "object" ? (row as Row) : null;
  } catch {
    return null;
  }
}
