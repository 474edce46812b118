/**
 * `npm run bench:classifier -- --train FILE [--val FILE] [--test FILE] [--oos-label LABEL]`: the intent
 * classifier, end to end, on a labelled dataset. It imports (validates) the CSV with the product's parser, trains with the product's
 * trainer (training/train.py) as a child process, evaluates the int8 ONNX model in Node through
 * lib/models/classifier.ts exactly as serving runs it (one message at a time), runs the TF-IDF baseline
 * on the same split, prints a table and, last, one line:
 *
 *   RESULT accuracy=<0..1> macro_f1=<0..1> in_scope_accuracy=… oos_recall=… oos_precision=… auroc_…=…
 *          oos_method=… ece_before=… ece_after=… p50_ms=… p99_ms=… train_s=… device=…
 *
 * in_scope_accuracy, oos_recall and oos_precision are what the product does: each test message goes through
 * the served classifier and lib/chat/decide.ts (as a first turn), with the thresholds the trainer fitted on
 * the validation rows. Rows labelled --oos-label are out of scope (renamed to the product's out_of_scope
 * class, which the model learns like any intent); the decision also has the Mahalanobis distance score.
 *
 * Without --test, part of --train is held out: a deterministic stratified fold by hash of the text
 * (5 folds of 20% per label; --folds K runs the first K of them and averages). Without --val, the
 * validation rows (thresholds, temperature and the early-stopping epoch only) are a 10% fold of the
 * remaining training rows.
 * Folds group texts that are equal after lower-casing and removing punctuation (lib/training/oos-eval.ts
 * groupKey), and rows of --train/--val whose key is in --test are dropped: no near-twin straddles a split. Nothing touches the
 * product database; everything is written under a temporary directory that is removed at the end
 * (unless --keep DIR keeps the trained model).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CsvError, parse as parseCsv } from "csv-parse/sync";
import { formatFromFilename, LABEL_PATTERN, parseDataset, type DatasetFormat, type DatasetRow, type Problem } from "../lib/dataset/import";
import { OUT_OF_SCOPE, type Classification } from "../lib/chat/decide";
import { fittedThresholds, loadClassifier } from "../lib/models/classifier";
import { score } from "../lib/training/evaluate";
import { auroc, groupedFold, oosOutcome, withoutGroupsOf, type OosOutcome } from "../lib/training/oos-eval";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PYTHON = process.env.LOOPDESK_PYTHON ?? path.join(ROOT, ".venv", "bin", "python");
/** The held-out fold is 1/FOLD_PARTS of each label: 20%. */
const FOLD_PARTS = 5;
/** Without --val, the validation fold is 1/VAL_PARTS of the training rows left. */
const VAL_PARTS = 10;
const WARMUP_TEXTS = 20;

const USAGE = `usage: npm run bench:classifier -- --train FILE [options]

  --train FILE         CSV with a text column and a label (or category) column
  --test FILE          same format; without it a stratified 20% fold of --train is held out
  --val FILE           validation rows, used only to fit the temperature and the out-of-scope
                       thresholds and to choose the early-stopping epoch; without it a 10% fold of
                       the training rows
  --oos-label LABEL    the label of out-of-scope rows (e.g. oos, or out_of_scope); they become the
                       product's out_of_scope class and in_scope_accuracy / oos_recall are reported
  --oos-budget F       in-scope accuracy the thresholds may cost on validation (trainer default 0.01)
  --folds K            without --test: run K of the 5 hash folds (1-5) and average (default 1)
  --limit N            train on a stratified subsample of N training rows (quick runs)
  --device D           auto | cpu | cuda, passed to the trainer (default auto)
  --epochs N, --max-len N, --batch-size N, --pooling mean|cls, --schedule linear|cosine,
  --label-smoothing F, --patience N (early stopping on the validation rows; 0: off)
                       passed to the trainer (its own defaults otherwise)
  --keep DIR           keep the trained model in DIR (DIR/fold-K with several folds); must not exist
  --normalize-labels   rename labels the import refuses (lower case, other characters than a-z 0-9 _
                       become _), e.g. Banking77's "Refund_not_showing_up" and "reverted_card_payment?";
                       one-to-one, so the scores are unchanged
  -h, --help           this text

Environment: LOOPDESK_PYTHON (default .venv/bin/python).`;

class UsageError extends Error {}
class InputError extends Error {}

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  train: string;
  test?: string;
  val?: string;
  oosLabel?: string;
  folds: number;
  limit?: number;
  device: "auto" | "cpu" | "cuda";
  trainerArgs: string[];
  keep?: string;
  normalizeLabels: boolean;
}

function options(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        train: { type: "string" },
        test: { type: "string" },
        val: { type: "string" },
        "oos-label": { type: "string" },
        "oos-budget": { type: "string" },
        folds: { type: "string" },
        limit: { type: "string" },
        device: { type: "string", default: "auto" },
        epochs: { type: "string" },
        "max-len": { type: "string" },
        "batch-size": { type: "string" },
        pooling: { type: "string" },
        schedule: { type: "string" },
        "label-smoothing": { type: "string" },
        patience: { type: "string" },
        keep: { type: "string" },
        "normalize-labels": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!v.train) throw new UsageError("--train FILE is required");
  const int = (name: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new UsageError(`--${name} must be an integer between ${min} and ${max === Number.MAX_SAFE_INTEGER ? "∞" : max}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
  const device = v.device ?? "auto";
  if (device !== "auto" && device !== "cpu" && device !== "cuda") throw new UsageError(`--device must be auto, cpu or cuda, got ${JSON.stringify(device)}`);
  const folds = int("folds", v.folds, 1, FOLD_PARTS) ?? 1;
  if (v.test && v.folds !== undefined && folds !== 1) throw new UsageError("--folds needs the held-out folds of --train; it cannot be used with --test");
  const trainerArgs: string[] = [];
  for (const [name, min, max] of [["epochs", 1, 1000], ["max-len", 3, 512], ["batch-size", 1, 4096]] as const) {
    const n = int(name, v[name], min, max);
    if (n !== undefined) trainerArgs.push(`--${name}`, String(n));
  }
  for (const [name, choices] of [["pooling", ["mean", "cls"]], ["schedule", ["linear", "cosine"]]] as const) {
    const choice = v[name];
    if (choice === undefined) continue;
    if (!(choices as readonly string[]).includes(choice)) throw new UsageError(`--${name} must be ${choices.join(" or ")}, got ${JSON.stringify(choice)}`);
    trainerArgs.push(`--${name}`, choice);
  }
  const patience = int("patience", v.patience, 0, 1000);
  if (patience !== undefined) trainerArgs.push("--patience", String(patience));
  if (v["label-smoothing"] !== undefined) {
    const smoothing = Number(v["label-smoothing"]);
    if (!/^\d*\.?\d+$/.test(v["label-smoothing"]) || !(smoothing >= 0 && smoothing < 1)) throw new UsageError(`--label-smoothing must be a number in [0, 1), got ${JSON.stringify(v["label-smoothing"])}`);
    trainerArgs.push("--label-smoothing", String(smoothing));
  }
  if (v["oos-budget"] !== undefined) {
    const budget = Number(v["oos-budget"]);
    if (!/^\d*\.?\d+$/.test(v["oos-budget"]) || !(budget >= 0 && budget < 1)) throw new UsageError(`--oos-budget must be a number in [0, 1), got ${JSON.stringify(v["oos-budget"])}`);
    trainerArgs.push("--oos-budget", String(budget));
  }
  const oosLabel = v["oos-label"]?.trim();
  if (oosLabel !== undefined && !LABEL_PATTERN.test(oosLabel)) throw new UsageError(`--oos-label must be a label (lower-case letters, digits, _), got ${JSON.stringify(v["oos-label"])}`);
  const keep = v.keep ? path.resolve(v.keep) : undefined;
  if (keep && existsSync(keep)) throw new UsageError(`--keep ${keep} already exists; give a new directory`);
  return {
    train: path.resolve(v.train),
    test: v.test ? path.resolve(v.test) : undefined,
    val: v.val ? path.resolve(v.val) : undefined,
    oosLabel,
    folds,
    limit: int("limit", v.limit, 2),
    device,
    trainerArgs,
    keep,
    normalizeLabels: v["normalize-labels"] ?? false,
  };
}

// ---------------------------------------------------------------------------------------------
// Output: results on stdout; progress on stderr (one updating line on a TTY, plain lines otherwise).

const tty = process.stderr.isTTY === true;

class Progress {
  private current = "";
  private lastPlain = 0;
  private phaseStart = 0;
  private ticker: NodeJS.Timeout | undefined;

  /** A transient status line. */
  update(text: string, force = false): void {
    this.current = text;
    if (tty) {
      const width = Math.max(20, (process.stderr.columns || 100) - 1);
      process.stderr.write(`\r\x1b[K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    } else if (force || Date.now() - this.lastPlain >= 10_000) {
      this.lastPlain = Date.now();
      process.stderr.write(`  ${text}\n`);
    }
  }

  /** A status line with a running clock (TTY only; plain output gets the line once). */
  phase(text: string): void {
    this.stopTicker();
    this.phaseStart = Date.now();
    this.update(text, true);
    if (tty) {
      this.ticker = setInterval(() => this.update(`${text} ${Math.round((Date.now() - this.phaseStart) / 1000)}s`), 1000);
      this.ticker.unref();
    }
  }

  /** A permanent line on stderr. */
  note(text: string): void {
    const current = this.current;
    this.clear();
    process.stderr.write(`  ${text}\n`);
    if (tty && current) this.update(current);
  }

  clear(): void {
    if (tty && this.current) process.stderr.write("\r\x1b[K");
    this.current = "";
  }

  done(): void {
    this.stopTicker();
    this.clear();
  }

  private stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }
}

const progress = new Progress();

function out(line = ""): void {
  progress.clear();
  process.stdout.write(`${line}\n`);
}

const fmtS = (s: number) => (s >= 120 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${Math.round(s)}s`);
const f4 = (x: number) => x.toFixed(4);
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

// ---------------------------------------------------------------------------------------------
// Import: the product's parser, nothing written anywhere.

interface Imported {
  rows: DatasetRow[];
  labels: string[];
}

/**
 * --normalize-labels: a label the import would refuse becomes lower case with every run of other
 * characters than a-z, 0-9 and _ turned into one _ (e.g. Banking77's "Refund_not_showing_up" and
 * "reverted_card_payment?"). Valid labels are kept. Two labels that would become one are an error.
 */
class LabelRenamer {
  readonly renamed = new Map<string, string>();
  private readonly byNew = new Map<string, string>();

  rename(label: string): string {
    const original = label.trim();
    let name = original;
    if (!LABEL_PATTERN.test(original)) {
      name = original.toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
      if (name && !/^[a-z]/.test(name)) name = `l_${name}`;
      name = name.slice(0, 64);
      if (!LABEL_PATTERN.test(name)) return label; // left for the import to report
    }
    const seen = this.byNew.get(name);
    if (seen !== undefined && seen !== original) {
      throw new InputError(`--normalize-labels: labels ${JSON.stringify(seen)} and ${JSON.stringify(original)} would both become ${name}`);
    }
    this.byNew.set(name, original);
    if (name !== original) this.renamed.set(original, name);
    return name;
  }
}

/**
 * Renames the label/category column of a CSV, keeping every record on the line it started on (so
 * problems are reported against the user's line numbers). Unparsable input is returned as is:
 * parseDataset reports it.
 */
function normalizeLabelsCsv(content: string, renamer: LabelRenamer): string {
  const text = content.replace(/^\uFEFF/, "").replace(/\r\n/g, "\n");
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text, { info: true, skip_empty_lines: true, relax_column_count: true }) as unknown as typeof records;
  } catch (e) {
    if (e instanceof CsvError) return content;
    throw e;
  }
  const header = records[0]?.record.map((c) => c.trim().toLowerCase()) ?? [];
  const column = header.findIndex((c) => c === "label" || c === "category");
  if (column < 0) return content;
  let outText = "";
  let line = 1;
  records.forEach(({ record, info }, i) => {
    const newlines = record.reduce((n, f) => n + (f.match(/\n/g)?.length ?? 0), 0);
    const start = info.lines - newlines;
    while (line < start) {
      outText += "\n";
      line++;
    }
    const fields = record.map((f, j) => (i === 0 || j !== column ? f : renamer.rename(f)));
    outText += `${fields.map((f) => `"${f.replace(/"/g, '""')}"`).join(",")}\n`;
    line += newlines + 1;
  });
  return outText;
}

function normalizeLabelsJsonl(content: string, renamer: LabelRenamer): string {
  return content
    .split("\n")
    .map((raw) => {
      try {
        const obj = JSON.parse(raw) as Record<string, unknown>;
        if (typeof obj !== "object" || obj === null) return raw;
        for (const k of ["label", "category"]) if (typeof obj[k] === "string") obj[k] = renamer.rename(obj[k] as string);
        return JSON.stringify(obj);
      } catch {
        return raw;
      }
    })
    .join("\n");
}

/** Problems grouped by kind (and by message where rows repeat one), with their lines. */
function describe(problems: Problem[], file: string): string[] {
  const name = path.basename(file);
  const lineList = (ps: Problem[], n = 8) => `${ps.slice(0, n).map((p) => p.line).join(", ")}${ps.length > n ? ", …" : ""}`;
  const kinds = new Map<string, Problem[]>();
  for (const p of problems) kinds.set(p.code, [...(kinds.get(p.code) ?? []), p]);
  const lines: string[] = [];
  for (const [code, list] of kinds) {
    lines.push(`${list.length} × ${code.replace(/_/g, " ")}:`);
    const messages = new Map<string, Problem[]>();
    for (const p of list) messages.set(p.message, [...(messages.get(p.message) ?? []), p]);
    if (messages.size < list.length) {
      for (const [message, ps] of [...messages].slice(0, 6)) lines.push(`  ${name}: ${ps.length} × ${message} (line ${lineList(ps)})`);
      if (messages.size > 6) lines.push(`  … and ${messages.size - 6} more`);
    } else {
      for (const p of list.slice(0, 3)) lines.push(`  ${name}${p.line ? `:${p.line}` : ""}: ${p.message}`);
      if (list.length > 3) lines.push(`  … and ${list.length - 3} more (line ${lineList(list.slice(3))})`);
    }
  }
  return lines;
}

async function importFile(file: string, role: "train" | "test" | "val", renamer: LabelRenamer | undefined, oosLabel: string | undefined): Promise<Imported> {
  let format: DatasetFormat;
  try {
    format = formatFromFilename(file);
  } catch (e) {
    throw new InputError(`--${role}: ${(e as Error).message}`);
  }
  let content: string;
  try {
    content = await readFile(file, "utf8");
  } catch (e) {
    throw new InputError(`--${role}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (renamer) content = format === "csv" ? normalizeLabelsCsv(content, renamer) : normalizeLabelsJsonl(content, renamer);
  const { rows, problems } = parseDataset(content, format);
  // A test file is not imported for training: few examples of a label is fine there.
  const isError = (p: Problem) => p.severity === "error" && !(role !== "train" && p.code === "too_few_examples");
  const errors = problems.filter(isError);
  const warnings = problems.filter((p) => !isError(p));
  if (errors.length > 0) {
    const hint = errors.some((p) => p.code === "invalid_label") && !renamer
      ? ["", "The import takes labels of lower-case letters, digits and _ only. --normalize-labels renames the others (lower case, other characters to _)."]
      : [];
    throw new InputError([`--${role} ${file}: ${errors.length} error(s), nothing was benchmarked:`, ...describe(errors, file).map((l) => `  ${l}`), ...hint].join("\n"));
  }
  const byCode = new Map<string, Problem[]>();
  for (const w of warnings) byCode.set(w.code, [...(byCode.get(w.code) ?? []), w]);
  for (const [code, list] of byCode) {
    const lines = list.slice(0, 5).map((p) => p.line).filter(Boolean).join(", ");
    const what = code === "duplicate" ? "repeated text(s), each kept once" : code === "too_few_examples" ? "label(s) with fewer than 5 test examples" : code;
    out(`  note: ${path.basename(file)}: ${list.length} ${what} (line ${lines}${list.length > 5 ? ", …" : ""})`);
  }
  // Out-of-scope rows become the product's out-of-scope class, the one decide.ts treats as such.
  const renamed = oosLabel ? rows.map((r) => (r.label === oosLabel ? { ...r, label: OUT_OF_SCOPE } : r)) : rows;
  const labels = [...new Set(renamed.map((r) => r.label))].sort();
  return { rows: renamed, labels };
}

// ---------------------------------------------------------------------------------------------
// Splits: deterministic, by sha256 of the normalised text.

const hashOf = (row: DatasetRow, salt = "") => createHash("sha256").update(salt + row.textKey).digest("hex");

function byLabel(rows: DatasetRow[], salt = ""): Map<string, DatasetRow[]> {
  const groups = new Map<string, DatasetRow[]>();
  for (const r of rows) groups.set(r.label, [...(groups.get(r.label) ?? []), r]);
  for (const [label, list] of groups) {
    const keyed = list.map((r) => ({ r, h: hashOf(r, salt) })).sort((a, b) => (a.h < b.h ? -1 : a.h > b.h ? 1 : 0));
    groups.set(label, keyed.map((k) => k.r));
  }
  return groups;
}

/** Fold `k` (0-based) of FOLD_PARTS, grouped by near-identical text (oos-eval groupedFold). */
function foldSplit(rows: DatasetRow[], k: number): { train: DatasetRow[]; test: DatasetRow[] } {
  const { rest, fold } = groupedFold(rows, FOLD_PARTS, k);
  return { train: rest, test: fold };
}

/** A stratified subsample of about `n` rows (largest remainder per label, at least 2 per label). */
function subsample(rows: DatasetRow[], n: number): DatasetRow[] {
  if (n >= rows.length) return rows;
  const groups = [...byLabel(rows, "limit:")];
  const quotas = groups.map(([, list]) => (list.length * n) / rows.length);
  const take = quotas.map(Math.floor);
  let left = n - take.reduce((a, b) => a + b, 0);
  const order = quotas.map((q, i) => ({ i, frac: q - Math.floor(q) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    take[i]!++;
    left--;
  }
  const picked = groups.flatMap(([, list], i) => list.slice(0, Math.max(take[i]!, Math.min(2, list.length))));
  return inFileOrder(picked);
}

const inFileOrder = (rows: DatasetRow[]) => [...rows].sort((a, b) => a.line - b.line);

async function writeSnapshot(file: string, train: DatasetRow[], test: DatasetRow[], val: DatasetRow[]): Promise<void> {
  const line = (r: DatasetRow, split: string) => JSON.stringify({ text: r.text, label: r.label, split, source: "import" });
  const lines = [...train.map((r) => line(r, "train")), ...test.map((r) => line(r, "holdout")), ...val.map((r) => line(r, "validation"))];
  await writeFile(file, lines.join("\n") + "\n", "utf8");
}

// ---------------------------------------------------------------------------------------------
// Python child processes

let activeChild: ChildProcess | undefined;

interface PyResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderrTail: string[];
}

function runPython(module: string, args: string[], handlers: { stdoutLine?: (l: string) => void; stderrLine?: (l: string) => void } = {}): Promise<PyResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ["-m", module, ...args], {
      cwd: ROOT,
      env: { ...process.env, PYTHONUNBUFFERED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    activeChild = child;
    let stdout = "";
    const tail: string[] = [];
    createInterface({ input: child.stdout! }).on("line", (l) => {
      stdout += `${l}\n`;
      handlers.stdoutLine?.(l);
    });
    let partial = "";
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      const parts = (partial + chunk).split(/[\r\n]/);
      partial = parts.pop() ?? "";
      for (const l of parts) {
        if (!l.trim() || isTqdm(l)) continue;
        tail.push(l);
        if (tail.length > 40) tail.shift();
        handlers.stderrLine?.(l);
      }
    });
    child.on("error", (e) => reject(new Error(`cannot run ${PYTHON}: ${e.message} (set LOOPDESK_PYTHON or run training/setup_venv.sh)`)));
    child.on("close", (code, signal) => {
      activeChild = undefined;
      if (partial.trim() && !isTqdm(partial)) tail.push(partial);
      resolve({ code, signal, stdout, stderrTail: tail });
    });
  });
}

/** tqdm's progress bars on the trainer's stderr ("epoch 1/5:  40%|████ | 20/50 [...]"). */
const isTqdm = (l: string) => /\|\s*\d+\/\d+ \[/.test(l) || /^\s*epoch \d+\/\d+:?\s*\d*%?\s*$/.test(l);

function pyFailure(what: string, r: PyResult): Error {
  const errorLine = [...r.stderrTail].reverse().find((l) => l.startsWith("error:"));
  const detail = errorLine ? [errorLine] : r.stderrTail.slice(-20);
  if (errorLine?.includes("int8 argmax agrees")) {
    detail.push("(an under-trained model has near-tied logits that int8 rounding flips; train on more rows or for more epochs)");
  }
  return new Error(`${what} failed (${r.signal ? `signal ${r.signal}` : `exit ${r.code}`}):\n${detail.map((l) => `    ${l}`).join("\n")}`);
}

// ---------------------------------------------------------------------------------------------
// Metrics

/** numpy's default (linear) percentile, as the trainer and the baseline compute theirs. */
function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const idx = (p / 100) * (s.length - 1);
  const lo = Math.floor(idx);
  const hi = Math.ceil(idx);
  return s[lo]! + (s[hi]! - s[lo]!) * (idx - lo);
}

interface TrainerMetrics {
  accuracy: number;
  macro_f1: number;
  train_seconds: number;
  total_seconds: number;
  device: string;
  mixed_precision: string | null;
  n_train: number;
  n_holdout: number;
  onnx_int8: { latency_ms_batch1: { p50: number; p99: number } };
  onnx_check: { int8_plan: string; int8_argmax_agreement: number };
  epochs: { epoch: number; holdout_accuracy: number }[];
  calibration?: {
    temperature: number;
    ece_before: number;
    ece_after: number;
    fitted_on: string;
    n_fitted: number;
    oos: {
      method: string | null;
      auroc?: Record<string, number | null>;
      methods: Record<string, { validation: { in_scope_accuracy: number | null; oos_recall: number | null; oos_precision: number | null } }>;
    };
  };
}

interface Baseline {
  accuracy: number;
  macro_f1: number;
  train_seconds: number;
  p50_ms: number;
  p99_ms: number;
}

interface FoldResult {
  name: string;
  nTrain: number;
  nTest: number;
  accuracy: number;
  macroF1: number;
  p50: number;
  p99: number;
  trainWallS: number;
  trainer: TrainerMetrics;
  disagreeWithTrainer: number;
  baseline: Baseline;
  /** The product's decision with the served model (its fitted method). */
  product: OosOutcome;
  /** Each out-of-scope method the trainer fitted, through the same decision. */
  methods: Record<string, OosOutcome>;
  /** AUROC of each out-of-scope score on the test rows (null without out-of-scope rows). */
  auroc: Record<string, number | null>;
}

// ---------------------------------------------------------------------------------------------
// One run: snapshot → trainer → Node evaluation → baseline

async function runFold(opts: Options, tmp: string, name: string, index: number, train: DatasetRow[], test: DatasetRow[], val: DatasetRow[]): Promise<FoldResult> {
  const tag = opts.folds > 1 ? `[${name}] ` : "";
  const labels = new Set(train.map((r) => r.label));
  out(`${tag}${train.length} training / ${val.length} validation / ${test.length} test examples, ${labels.size} labels`);

  const snapshot = path.join(tmp, `snapshot-${index}.jsonl`);
  await writeSnapshot(snapshot, train, test, val);
  const modelDir = opts.keep ? (opts.folds > 1 ? path.join(opts.keep, `fold-${index}`) : opts.keep) : path.join(tmp, `model-${index}`);

  // --- train
  const trainerArgs = ["--data", snapshot, "--out", modelDir, "--device", opts.device, ...opts.trainerArgs];
  progress.phase(`${tag}starting the trainer (loading PyTorch and the encoder)…`);
  const t0 = performance.now();
  let lastEval = 0;
  let epochs = 0;
  const r = await runPython("training.train", trainerArgs, {
    stdoutLine(l) {
      const m = /^(PROGRESS|EVAL|DONE) (.*)$/.exec(l);
      if (!m) return;
      const p = JSON.parse(m[2]!) as Record<string, number>;
      if (m[1] === "PROGRESS") {
        progress.done();
        epochs = p.epochs ?? epochs;
        progress.update(`${tag}training: epoch ${p.epoch}/${p.epochs}, step ${p.step}/${p.steps}, loss ${p.loss?.toFixed(3)}, ~${fmtS(p.eta_s ?? 0)} left`);
      } else if (m[1] === "EVAL") {
        lastEval = p.epoch ?? 0;
        const validation = p.validation_accuracy === undefined ? "" : `; validation accuracy ${p.validation_accuracy.toFixed(4)}, loss ${p.validation_loss?.toFixed(3)}`;
        progress.note(`${tag}epoch ${p.epoch}: trainer holdout accuracy ${p.holdout_accuracy?.toFixed(4)}, macro-F1 ${p.holdout_macro_f1?.toFixed(4)}, loss ${p.holdout_loss?.toFixed(3)}${validation}`);
        if (lastEval === epochs) progress.phase(`${tag}exporting to ONNX, quantizing to int8 and checking it…`);
      }
    },
    stderrLine(l) {
      if (/^(warning|error):/.test(l)) progress.note(`${tag}trainer ${l}`);
      else if (/^(data|early stop|kept the weights|no validation rows):?/.test(l)) progress.note(`${tag}trainer ${l}`);
      else if (/^int8 plan/.test(l)) progress.note(`${tag}trainer ${l}`);
    },
  });
  progress.done();
  const trainWallS = (performance.now() - t0) / 1000;
  if (r.code !== 0) throw pyFailure("the trainer (python -m training.train)", r);
  const trainer = JSON.parse(await readFile(path.join(modelDir, "metrics.json"), "utf8")) as TrainerMetrics;
  const device = `${trainer.device}${trainer.mixed_precision ? ` (${trainer.mixed_precision} autocast)` : ""}`;
  out(`${tag}trained in ${trainWallS.toFixed(1)} s wall (trainer: training loop ${trainer.train_seconds.toFixed(1)} s, whole run ${trainer.total_seconds.toFixed(1)} s, device ${device}, int8 plan ${trainer.onnx_check.int8_plan})`);

  // --- evaluate in Node, as serving does: one message at a time
  progress.phase(`${tag}loading the int8 ONNX model in Node…`);
  const classifier = await loadClassifier(modelDir, `bench-${index}`);
  const modelLabels = new Set(classifier.labels);
  const unknown = [...labels].filter((l) => !modelLabels.has(l));
  if (unknown.length) throw new Error(`the trained model lacks label(s) ${unknown.join(", ")}`);
  for (const row of test.slice(0, WARMUP_TEXTS)) await classifier.classify(row.text);
  const preds: string[] = [];
  const lat: number[] = [];
  const classified: { label: string; classification: Classification; probabilities: number[] }[] = [];
  progress.done();
  for (const [i, row] of test.entries()) {
    const t = performance.now();
    const p = await classifier.classify(row.text);
    lat.push(performance.now() - t);
    preds.push(p.intent);
    const [probabilities] = await classifier.probabilities([row.text]); // for the scores' AUROC, untimed
    classified.push({ label: row.label, classification: p, probabilities: probabilities! });
    if (i % 50 === 0) progress.update(`${tag}evaluating in Node: ${i}/${test.length}`);
  }
  progress.done();
  const { accuracy, macroF1: f1 } = score(test.map((r) => r.label), preds);

  // --- what the product does: the served decision, then each fitted out-of-scope method through it
  const product = oosOutcome(classified);
  const methods: Record<string, OosOutcome> = {};
  for (const [method, t] of Object.entries(classifier.calibration?.methods ?? {})) {
    methods[method] = oosOutcome(classified.map((c) => ({ ...c, classification: { ...c.classification, fitted: fittedThresholds(t) } })));
  }
  const oosIndex = classifier.labels.indexOf(OUT_OF_SCOPE);
  const scores: Record<string, (c: (typeof classified)[number]) => number | undefined> = {
    max_prob: (c) => 1 - Math.max(...c.probabilities.filter((_, i) => i !== oosIndex)),
    ...(oosIndex >= 0 ? { oos_class: (c: (typeof classified)[number]) => c.probabilities[oosIndex] } : {}),
    mahalanobis: (c) => c.classification.oosScore,
  };
  const aurocs: Record<string, number | null> = {};
  for (const [name, f] of Object.entries(scores)) {
    const values = classified.map((c) => ({ oos: c.label === OUT_OF_SCOPE, s: f(c) }));
    if (values.some((v) => v.s === undefined)) continue;
    aurocs[name] = auroc(values.filter((v) => v.oos).map((v) => v.s!), values.filter((v) => !v.oos).map((v) => v.s!));
  }
  const cal = trainer.calibration;
  if (cal) out(`${tag}calibration (fitted on ${cal.n_fitted} ${cal.fitted_on} rows): temperature ${cal.temperature.toFixed(3)}, holdout ECE ${f4(cal.ece_before)} → ${f4(cal.ece_after)}; out-of-scope method ${cal.oos.method ?? "none (no out-of-scope validation rows)"}`);

  // The trainer scored the same texts with the same int8 file in Python: compare text by text.
  const trainerPred = new Map<string, string>();
  const predictions = await readFile(path.join(modelDir, "predictions.jsonl"), "utf8");
  for (const l of predictions.split("\n")) if (l.trim()) {
    const o = JSON.parse(l) as { text: string; pred_int8: string };
    trainerPred.set(o.text, o.pred_int8);
  }
  const disagree = test.filter((row, i) => trainerPred.get(row.text) !== preds[i]).length;
  out(`${tag}int8 ONNX in Node: accuracy ${f4(accuracy)} (trainer's metrics.json: ${f4(trainer.accuracy)}, ${disagree} of ${test.length} predictions differ), macro-F1 ${f4(f1)} (trainer ${f4(trainer.macro_f1)})`);
  out(`${tag}latency per message in Node: p50 ${ms(percentile(lat, 50))} ms, p99 ${ms(percentile(lat, 99))} ms (trainer's Python onnxruntime: p50 ${ms(trainer.onnx_int8.latency_ms_batch1.p50)} ms, p99 ${ms(trainer.onnx_int8.latency_ms_batch1.p99)} ms)`);

  // --- the TF-IDF baseline on the same snapshot
  progress.phase(`${tag}TF-IDF + logistic regression baseline…`);
  const b = await runPython("training.baseline", ["--data", snapshot]);
  progress.done();
  if (b.code !== 0) throw pyFailure("the baseline (python -m training.baseline)", b);
  const baseline = JSON.parse(b.stdout.trim().split("\n").pop()!) as Baseline;
  out(`${tag}baseline: accuracy ${f4(baseline.accuracy)}, macro-F1 ${f4(baseline.macro_f1)}, trained in ${baseline.train_seconds.toFixed(1)} s`);

  return {
    name,
    nTrain: train.length,
    nTest: test.length,
    accuracy,
    macroF1: f1,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    trainWallS,
    trainer,
    disagreeWithTrainer: disagree,
    baseline,
    product,
    methods,
    auroc: aurocs,
  };
}

// ---------------------------------------------------------------------------------------------

/** The out-of-scope table: each fitted method on validation (the trainer's figures) and on the test rows (the product's decision). */
function printOos(results: FoldResult[], agg: (f: (r: FoldResult) => number, fmt: (x: number) => string) => string): void {
  const pct = (x: number | null | undefined) => (typeof x === "number" ? `${(x * 100).toFixed(1)}%` : "–");
  const first = results[0]!;
  const served = first.trainer.calibration?.oos.method ?? null;
  out();
  out(`Out of scope (the product's decision, decide.ts; ${first.product.nInScope} in-scope / ${first.product.nOos} out-of-scope test rows${results.length > 1 ? ", first fold" : ""})`);
  const cols = [34, 11, 11, 11, 11, 11];
  const row = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(cols[i]!) : ` ${c.padStart(cols[i]!)}`)).join("");
  out(row(["", "in-scope", "OOS recall", "OOS prec.", "val in-sc.", "val recall"]));
  out(row(["served model" + (served ? ` (${served})` : " (no fitted method)"), pct(first.product.inScopeAccuracy), pct(first.product.oosRecall), pct(first.product.oosPrecision), "", ""]));
  for (const [method, o] of Object.entries(first.methods)) {
    const v = first.trainer.calibration?.oos.methods[method]?.validation;
    out(row([`  ${method}`, pct(o.inScopeAccuracy), pct(o.oosRecall), pct(o.oosPrecision), pct(v?.in_scope_accuracy), pct(v?.oos_recall)]));
  }
  const names = Object.keys(first.auroc);
  if (names.length) out(`  AUROC of each score on the test rows: ${names.map((n) => `${n} ${agg((r) => r.auroc[n] ?? NaN, f4)}`).join(", ")}`);
  const valAuroc = first.trainer.calibration?.oos.auroc;
  if (valAuroc) out(`  AUROC on validation: ${Object.entries(valAuroc).map(([n, a]) => `${n} ${a === null ? "–" : f4(a)}`).join(", ")}`);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));

async function main(): Promise<number> {
  const opts = options(process.argv.slice(2));
  const cpus = os.cpus();
  out("Loopdesk intent classifier benchmark");
  out(`  host: ${cpus.length} CPU(s) ${cpus[0]?.model.trim() ?? ""}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);

  // --- import
  const renamer = opts.normalizeLabels ? new LabelRenamer() : undefined;
  const trainSet = await importFile(opts.train, "train", renamer, opts.oosLabel);
  out(`  train: ${opts.train}: ${trainSet.rows.length} examples, ${trainSet.labels.length} labels`);
  if (renamer?.renamed.size) {
    out(`  --normalize-labels: ${[...renamer.renamed].map(([a, b]) => `${JSON.stringify(a)} → ${b}`).join(", ")}`);
  }
  if (opts.oosLabel && !trainSet.labels.includes(OUT_OF_SCOPE)) throw new InputError(`--oos-label ${opts.oosLabel}: --train has no row labelled ${opts.oosLabel}`);
  let runs: { name: string; train: DatasetRow[]; test: DatasetRow[]; val?: DatasetRow[] }[];
  let protocol: string;
  if (opts.test) {
    const testSet = await importFile(opts.test, "test", renamer, opts.oosLabel);
    out(`  test:  ${opts.test}: ${testSet.rows.length} examples, ${testSet.labels.length} labels`);
    const trainLabels = new Set(trainSet.labels);
    const unseen = testSet.labels.filter((l) => !trainLabels.has(l));
    if (unseen.length) throw new InputError(`--test has label(s) that --train lacks, the model cannot predict them: ${unseen.slice(0, 10).join(", ")}${unseen.length > 10 ? ", …" : ""}`);
    const trainByKey = new Map(trainSet.rows.map((r) => [r.textKey, r]));
    const conflicts = testSet.rows.filter((r) => trainByKey.has(r.textKey) && trainByKey.get(r.textKey)!.label !== r.label);
    if (conflicts.length) {
      const c = conflicts[0]!;
      throw new InputError(`${conflicts.length} text(s) are labelled differently in --train and --test, e.g. ${JSON.stringify(c.text)} (test line ${c.line}: ${c.label}, train line ${trainByKey.get(c.textKey)!.line}: ${trainByKey.get(c.textKey)!.label})`);
    }
    const leaked = testSet.rows.filter((r) => trainByKey.has(r.textKey)).length;
    if (leaked) out(`  warning: ${leaked} test text(s) also appear in --train; the scores are inflated`);
    const missing = trainSet.labels.filter((l) => !testSet.labels.includes(l));
    if (missing.length) out(`  note: ${missing.length} label(s) have no test example; macro-F1 averages over the ${testSet.labels.length} that have`);
    // Near-twins of test texts (same groupKey) leave the training side.
    const { kept, dropped } = withoutGroupsOf(trainSet.rows, testSet.rows);
    if (dropped.length) out(`  note: ${dropped.length} --train row(s) equal a test text once case and punctuation are ignored; left out of training`);
    runs = [{ name: "test file", train: kept, test: testSet.rows }];
    protocol = `test set: --test ${path.basename(opts.test)}`;
  } else {
    runs = Array.from({ length: opts.folds }, (_, k) => ({ name: `fold ${k + 1}/${FOLD_PARTS}`, ...foldSplit(trainSet.rows, k) }));
    protocol =
      opts.folds === 1
        ? `test set: fold 1 of ${FOLD_PARTS} of --train (stratified 20% holdout by sha256 of the text; --folds 1)`
        : `test sets: folds 1-${opts.folds} of ${FOLD_PARTS} of --train (stratified 20% holdouts by sha256 of the text; --folds ${opts.folds}), mean ± sd`;
    out(`  no --test: ${protocol.replace(/^test sets?: /, "")}`);
  }
  // --- validation rows: --val, or a grouped fold of each run's training rows
  let valRows: DatasetRow[] | undefined;
  if (opts.val) {
    const valSet = await importFile(opts.val, "val", renamer, opts.oosLabel);
    valRows = valSet.rows;
    out(`  val:   ${opts.val}: ${valRows.length} examples, ${valSet.labels.length} labels (temperature and thresholds only)`);
    const trainLabels = new Set(trainSet.labels);
    const unseen = valSet.labels.filter((l) => !trainLabels.has(l));
    if (unseen.length) throw new InputError(`--val has label(s) that --train lacks: ${unseen.slice(0, 10).join(", ")}`);
  }
  for (const run of runs) {
    if (valRows) {
      // A validation text that is a near-twin of a training or test text would be fitted on what the model saw or will be scored on.
      const { kept, dropped } = withoutGroupsOf(valRows, [...run.train, ...run.test]);
      if (dropped.length) out(`  note: ${dropped.length} --val row(s) equal a training or test text once case and punctuation are ignored; left out of validation`);
      run.val = kept;
    } else {
      const { rest, fold } = groupedFold(run.train, VAL_PARTS, 0, "val:");
      run.train = rest;
      run.val = fold;
    }
  }
  if (!opts.val) {
    protocol += `; validation: a 10% fold of the training rows`;
    out(`  no --val: validation is a grouped 10% fold of the training rows`);
  } else protocol += `; validation: --val ${path.basename(opts.val)}`;
  if (opts.limit !== undefined) {
    const before = runs.map((run) => run.train.length);
    for (const run of runs) run.train = subsample(run.train, opts.limit);
    const after = runs.map((run) => run.train.length);
    const fmt = (xs: number[]) => [...new Set(xs)].join("/");
    if (after.some((n, i) => n < before[i]!)) {
      protocol += `; trained on ${fmt(after)} of ${fmt(before)} rows (--limit ${opts.limit}, stratified)`;
      out(`  --limit ${opts.limit}: training on a stratified subsample of ${fmt(after)} of the ${fmt(before)} training rows`);
    }
  }
  out(`  trainer: ${path.relative(ROOT, PYTHON).startsWith("..") ? PYTHON : path.relative(ROOT, PYTHON)} -m training.train --device ${opts.device}${opts.trainerArgs.length ? ` ${opts.trainerArgs.join(" ")}` : ""} (other settings: trainer defaults)`);
  out();

  // --- train + evaluate
  const tmp = await mkdtemp(path.join(os.tmpdir(), "loopdesk-bench-"));
  cleanupDir = tmp;
  const results: FoldResult[] = [];
  try {
    for (const [k, run] of runs.entries()) results.push(await runFold(opts, tmp, run.name, k + 1, run.train, run.test, run.val ?? []));
  } finally {
    await rm(tmp, { recursive: true, force: true });
    cleanupDir = undefined;
  }

  // --- report
  const device = [...new Set(results.map((r) => r.trainer.device))].join("+");
  const mp = results[0]!.trainer.mixed_precision;
  const agg = (f: (r: FoldResult) => number, fmt: (x: number) => string) => {
    const xs = results.map(f);
    return results.length > 1 ? `${fmt(mean(xs))}±${fmt(sd(xs))}` : fmt(xs[0]!);
  };
  const wide = results.length > 1;
  const cols = wide ? [22, 15, 15, 12, 12, 12] : [22, 10, 10, 9, 9, 9];
  const row = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(cols[i]!) : ` ${c.padStart(cols[i]!)}`)).join("");
  out();
  out(`Results (${protocol}; macro-F1 over the labels present in the test set)`);
  out(row(["", "accuracy", "macro-F1", "p50 ms", "p99 ms", "train s"]));
  out(row(["MiniLM int8 ONNX", agg((r) => r.accuracy, f4), agg((r) => r.macroF1, f4), agg((r) => r.p50, ms), agg((r) => r.p99, ms), agg((r) => r.trainWallS, (x) => x.toFixed(1))]) + `   ${device}${mp ? ` ${mp}` : ""}, latency in Node`);
  out(row(["  trainer metrics.json", agg((r) => r.trainer.accuracy, f4), agg((r) => r.trainer.macro_f1, f4), agg((r) => r.trainer.onnx_int8.latency_ms_batch1.p50, ms), agg((r) => r.trainer.onnx_int8.latency_ms_batch1.p99, ms), agg((r) => r.trainer.train_seconds, (x) => x.toFixed(1))]) + "   same model scored in Python; train s = training loop only");
  out(row(["TF-IDF + LR baseline", agg((r) => r.baseline.accuracy, f4), agg((r) => r.baseline.macro_f1, f4), agg((r) => r.baseline.p50_ms, ms), agg((r) => r.baseline.p99_ms, ms), agg((r) => r.baseline.train_seconds, (x) => x.toFixed(1))]) + "   cpu, latency in Python");
  if (results.length > 1) {
    out();
    for (const r of results) out(`  ${r.name}: accuracy ${f4(r.accuracy)}, macro-F1 ${f4(r.macroF1)}, baseline ${f4(r.baseline.accuracy)}, train ${r.trainWallS.toFixed(1)} s`);
  }
  printOos(results, agg);
  out(`  train s for the model = wall time of the trainer process (start-up, training, ONNX export, int8 quantization and checks); load average now ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  if (opts.keep) out(`  model kept in ${opts.keep}`);
  out();
  const meanOf = (f: (r: FoldResult) => number | null | undefined) => {
    const xs = results.map(f);
    return xs.every((x) => typeof x === "number") ? f4(mean(xs as number[])) : "na";
  };
  const aurocNames = [...new Set(results.flatMap((r) => Object.keys(r.auroc)))];
  out(
    `RESULT accuracy=${f4(mean(results.map((r) => r.accuracy)))} macro_f1=${f4(mean(results.map((r) => r.macroF1)))} ` +
      `in_scope_accuracy=${meanOf((r) => r.product.inScopeAccuracy)} oos_recall=${meanOf((r) => r.product.oosRecall)} ` +
      `oos_precision=${meanOf((r) => r.product.oosPrecision)} ` +
      aurocNames.map((n) => `auroc_${n}=${meanOf((r) => r.auroc[n])} `).join("") +
      `oos_method=${[...new Set(results.map((r) => r.trainer.calibration?.oos.method ?? "none"))].join("+")} ` +
      `ece_before=${meanOf((r) => r.trainer.calibration?.ece_before)} ece_after=${meanOf((r) => r.trainer.calibration?.ece_after)} ` +
      `p50_ms=${mean(results.map((r) => r.p50)).toFixed(2)} p99_ms=${mean(results.map((r) => r.p99)).toFixed(2)} ` +
      `train_s=${mean(results.map((r) => r.trainWallS)).toFixed(1)} device=${device}`,
  );
  return 0;
}

let cleanupDir: string | undefined;
let interrupting = false;

async function interrupted(signal: NodeJS.Signals): Promise<void> {
  interrupting = true;
  progress.done();
  process.stderr.write(`\ninterrupted (${signal}); stopping…\n`);
  // The trainer cleans up its temporary output on SIGTERM.
  if (activeChild && activeChild.exitCode === null) {
    activeChild.kill("SIGTERM");
    await new Promise((r) => activeChild?.once("close", r) ?? r(undefined));
  }
  if (cleanupDir) await rm(cleanupDir, { recursive: true, force: true });
  process.exit(signal === "SIGINT" ? 130 : 143);
}
process.once("SIGINT", (s) => void interrupted(s));
process.once("SIGTERM", (s) => void interrupted(s));

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (interrupting) return; // the signal handler reports and exits
    progress.done();
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    if (e instanceof InputError) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
