/**
 * The language model's training snapshot (the contract with training/train_lm.py): one JSON object per
 * line, each the chat turns serving sends the model for one customer message (lib/chat/prompt.ts
 * buildPrompt, the chat turn's history budget) plus the approved answer. Sources: the team's seed set
 * (training/data/lm_seed.jsonl; `seedOnly` needs no database), staff corrections and agent replies
 * (LmExample), and bot replies customers gave 👍 that staff have not marked Bad. The same data always
 * gives the same bytes; the held-out split hashes a group (a seed answer, a conversation), so
 * paraphrases of one question and turns of one conversation never straddle it.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { config } from "../config";
import type { ChatTurn } from "../models/lm";
import { loadLmRenderer } from "../models/lm-tokenizer";
import { byCodeUnits, HOLDOUT_PERCENT, splitOf, textKey } from "../text";
import { describeProblems, lmExampleProblems, lmSeedRowSchema, renderMessages, storedExample, withoutPersonalData, type LmExampleInput, type LmRenderer } from "./lm-example";
import { writeAtomically } from "./export";

// Relative to the project root, the working directory of the server and the CLI (as lib/db/seed.ts).
export const LM_SEED_FILE = path.resolve(/* turbopackIgnore: true */ process.cwd(), "training/data/lm_seed.jsonl");

export const LM_ORIGINS = ["seed", "staff_correction", "agent_reply", "customer_thumbs_up"] as const;
export type LmOrigin = (typeof LM_ORIGINS)[number];

export interface LmSnapshotRow {
  id: string;
  split: "train" | "holdout";
  origin: LmOrigin;
  approved_by: string;
  intent: string | null;
  group: string;
  messages: ChatTurn[];
}

export interface LmSnapshotManifest {
  kind: "lm";
  /** Of the JSONL file's bytes. */
  sha256: string;
  rows: number;
  per_origin: Record<LmOrigin, number>;
  per_intent: Record<string, { train: number; holdout: number }>;
  per_split: { train: number; holdout: number };
  holdout_percent: number;
  /** Customer 👍 replies left out, with why (staff-approved examples were validated when saved). */
  skipped: { id: string; reason: string }[];
  created_at: string;
}

/** An example before rendering: where it came from, and the key its split is hashed on. */
interface SourceExample extends LmExampleInput {
  id: string;
  origin: LmOrigin;
  approvedBy: string;
  intent: string | null;
  group: string;
}

/** The seed file's examples, each validated; a bad line fails the export naming its line. */
export async function readLmSeed(renderer: LmRenderer, file = LM_SEED_FILE): Promise<SourceExample[]> {
  const name = path.relative(process.cwd(), file) || file;
  const lines = (await readFile(file, "utf8")).split("\n");
  const examples: SourceExample[] = [];
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const where = `${name} line ${i + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new Error(`${where}: not valid JSON`);
    }
    const parsed = lmSeedRowSchema.safeParse(json);
    if (!parsed.success) throw new Error(`${where}: ${parsed.error.issues.map((s) => `${s.path.join(".") || "row"} ${s.message}`).join("; ")}`);
    const row = parsed.data;
    const example = { facts: row.facts, history: [], question: row.question, answer: row.answer };
    const problems = lmExampleProblems(example, renderer);
    if (problems.length > 0) throw new Error(`${where}: ${describeProblems(problems)}`);
    const digest = createHash("sha256").update(JSON.stringify([row.facts, row.question, row.answer])).digest("hex");
    // Paraphrases of one question share their answer: the answer is the group.
    examples.push({ ...example, id: `seed:${digest.slice(0, 12)}`, origin: "seed", approvedBy: "team", intent: row.intent, group: `answer:${textKey(row.answer)}` });
  }
  return examples;
}

/**
 * Staff-approved examples and customer 👍 replies, personal data replaced by placeholders (examples
 * saved before redaction existed, and 👍 replies, are read from the conversation as written); 👍 replies
 * that are not usable are reported, not trained.
 */
async function databaseExamples(renderer: LmRenderer): Promise<{ examples: SourceExample[]; skipped: LmSnapshotManifest["skipped"] }> {
  // Loaded only here, so a seed-only export never opens the database.
  const { allLmExamples, answeredTurn, thumbsUpReplyIds } = await import("../db/lm-examples");
  const examples: SourceExample[] = (await allLmExamples()).map((e) => ({
    ...withoutPersonalData(storedExample(e)),
    id: e.id,
    origin: e.origin,
    approvedBy: e.approvedBy.email,
    intent: e.intent,
    group: `conversation:${e.conversationId}`,
  }));
  const skipped: LmSnapshotManifest["skipped"] = [];
  for (const id of await thumbsUpReplyIds()) {
    const turn = await answeredTurn(id);
    if (!turn) continue;
    const example = withoutPersonalData({ facts: turn.facts, history: turn.history, question: turn.question.text, answer: turn.source.text });
    const problems = lmExampleProblems(example, renderer);
    if (problems.length > 0) {
      skipped.push({ id: `msg:${id}`, reason: describeProblems(problems) });
      continue;
    }
    examples.push({ ...example, id: `msg:${id}`, origin: "customer_thumbs_up", approvedBy: "customer", intent: turn.intent, group: `conversation:${turn.source.conversationId}` });
  }
  return { examples, skipped };
}

export async function lmSnapshotRows(opts: { seedOnly?: boolean; renderer: LmRenderer }): Promise<{ rows: LmSnapshotRow[]; skipped: LmSnapshotManifest["skipped"] }> {
  const seed = await readLmSeed(opts.renderer);
  const fromDatabase = opts.seedOnly ? { examples: [], skipped: [] } : await databaseExamples(opts.renderer);
  const rows = [...seed, ...fromDatabase.examples]
    .map(
      (e): LmSnapshotRow => ({
        id: e.id,
        split: splitOf(e.group),
        origin: e.origin,
        approved_by: e.approvedBy,
        intent: e.intent,
        group: e.group,
        messages: renderMessages(e, opts.renderer),
      }),
    )
    .sort((a, b) => byCodeUnits(a.id, b.id));
  return { rows, skipped: fromDatabase.skipped };
}

/**
 * Writes the snapshot (default: <dataDir>/snapshots/lm-snapshot-<sha12>.jsonl) and its manifest beside
 * it (`.manifest.json`); both atomically.
 */
export async function exportLmSnapshot(options: {
  dataDir: string;
  outPath?: string;
  seedOnly?: boolean;
}): Promise<{ path: string; manifestPath: string; manifest: LmSnapshotManifest }> {
  const renderer = await loadLmRenderer(config().LOOPDESK_MODELS_DIR, config().LM_HISTORY_TOKENS);
  const { rows, skipped } = await lmSnapshotRows({ seedOnly: options.seedOnly, renderer });
  if (rows.length === 0) throw new Error("nothing to export: the seed file is empty and there are no approved answers");
  const holdout = rows.filter((r) => r.split === "holdout").length;
  if (holdout === 0 || holdout === rows.length) throw new Error(`all ${rows.length} examples fall in one split: add examples from more questions or conversations`);

  const bytes = Buffer.from(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const outPath = path.resolve(options.outPath ?? path.join(options.dataDir, "snapshots", `lm-snapshot-${sha256.slice(0, 12)}.jsonl`));
  const manifestPath = `${outPath.replace(/\.jsonl$/, "")}.manifest.json`;
  const manifest: LmSnapshotManifest = {
    kind: "lm",
    sha256,
    rows: rows.length,
    per_origin: Object.fromEntries(LM_ORIGINS.map((o) => [o, rows.filter((r) => r.origin === o).length])) as Record<LmOrigin, number>,
    per_intent: {},
    per_split: { train: rows.length - holdout, holdout },
    holdout_percent: HOLDOUT_PERCENT,
    skipped,
    created_at: new Date().toISOString(),
  };
  for (const r of [...rows].sort((a, b) => byCodeUnits(a.intent ?? "", b.intent ?? ""))) {
    const counts = (manifest.per_intent[r.intent ?? "unknown"] ??= { train: 0, holdout: 0 });
    counts[r.split]++;
  }
  await writeAtomically(outPath, bytes);
  await writeAtomically(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { path: outPath, manifestPath, manifest };
}

/** Examples per origin without rendering them (the ML console's data page). */
export async function lmDataCounts(): Promise<Record<LmOrigin, number>> {
  const { lmExampleCounts } = await import("../db/lm-examples");
  const seed = (await readFile(LM_SEED_FILE, "utf8")).split("\n").filter((l) => l.trim() !== "").length;
  return { seed, ...(await lmExampleCounts()) };
}
