/**
 * Importing labelled utterances (CSV or JSON Lines) as TrainingExample rows. All or nothing: a file
 * with any error imports no row, so a half-imported dataset can never reach a training run.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import { CsvError, parse as parseCsv } from "csv-parse/sync";
import { z } from "zod";
import { existingExamples, insertImportedExamples, type ExistingExamples } from "../db/examples";
import { isUniqueViolation } from "../db/errors";
import { byCodeUnits, textKey } from "../text";

export type DatasetFormat = "csv" | "jsonl";

/** The same limit as the trainer's (training/snapshot.py) and a chat message's. */
export const MAX_TEXT_CHARS = 2000;
export const MIN_EXAMPLES_PER_LABEL = 5;
export const MAX_FILE_BYTES = 20 * 1024 * 1024;
export const MAX_ROWS = 100_000;
export const LABEL_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

export type ProblemCode =
  | "too_large"
  | "empty_file"
  | "invalid_csv"
  | "invalid_json"
  | "not_an_object"
  | "unknown_column"
  | "missing_column"
  | "empty_text"
  | "text_too_long"
  | "invalid_label"
  | "duplicate"
  | "conflicting_label"
  | "too_few_examples";

/** `line` is 1-based in the file; 0 means the whole file. */
export interface Problem {
  line: number;
  code: ProblemCode;
  severity: "error" | "warning";
  message: string;
}

/** A valid row of the file; `line` is where it starts. */
export interface DatasetRow {
  line: number;
  text: string;
  label: string;
  textKey: string;
}

const EMPTY_DATABASE: ExistingExamples = { labelByKey: new Map(), countByLabel: new Map() };

export interface ParsedDataset {
  /** Valid rows, each text once (the first of its duplicates), in file order. */
  rows: DatasetRow[];
  /** Errors and warnings, by line. Any error means the file must not be imported. */
  problems: Problem[];
}

/** The one warning: a repeated row is harmless, it is kept once. */
const WARNINGS = new Set<ProblemCode>(["duplicate"]);

function problem(line: number, code: ProblemCode, message: string): Problem {
  return { line, code, severity: WARNINGS.has(code) ? "warning" : "error", message };
}

export function formatFromFilename(filename: string): DatasetFormat {
  const ext = path.extname(filename).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  throw new Error(`cannot tell the format of ${JSON.stringify(filename)}: use a .csv, .jsonl or .ndjson file`);
}

/**
 * Checks a whole file. `existing` is what the database holds for its texts and labels (see
 * importDataset); without it the database counts as empty.
 */
export function parseDataset(content: string | Buffer, format: DatasetFormat, existing = EMPTY_DATABASE): ParsedDataset {
  return checkRows(readRows(content, format), existing);
}

// ---------------------------------------------------------------------------------------------
// Reading: each row on its own.

const rowSchema = z.strictObject({
  text: z
    .string()
    .trim()
    .min(1)
    // Counted in code points, as Python's len() does in the trainer.
    .refine((t) => [...t].length <= MAX_TEXT_CHARS),
  label: z.string().trim().regex(LABEL_PATTERN),
});

function readRows(content: string | Buffer, format: DatasetFormat): ParsedDataset {
  const bytes = typeof content === "string" ? Buffer.byteLength(content) : content.length;
  if (bytes > MAX_FILE_BYTES) {
    return { rows: [], problems: [problem(0, "too_large", `the file is ${megabytes(bytes)} MB; at most ${megabytes(MAX_FILE_BYTES)} MB can be imported`)] };
  }
  const text = (typeof content === "string" ? content : content.toString("utf8")).replace(/^\uFEFF/, "");
  const read = format === "csv" ? readCsv(text) : readJsonl(text);
  if (read.problems.length === 0 && read.rows.length === 0) {
    return { rows: [], problems: [problem(0, "empty_file", "the file holds no examples")] };
  }
  return read;
}

function megabytes(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1).replace(/\.0$/, "");
}

function tooManyRows(count: number): ParsedDataset {
  return { rows: [], problems: [problem(0, "too_large", `the file has ${count} rows; at most ${MAX_ROWS} can be imported`)] };
}

function readCsv(content: string): ParsedDataset {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    // CRLF becomes LF first: csv-parse counts a CRLF inside quotes as two lines, which would put
    // every later line number off by one. A newline inside a text means the same either way.
    records = parseCsv(content.replace(/\r\n/g, "\n"), {
      info: true,
      skip_empty_lines: true,
      relax_column_count: true,
    }) as unknown as typeof records; // the sync API's types miss that `info: true` wraps each record
  } catch (e) {
    if (!(e instanceof CsvError)) throw e;
    const line = typeof e.lines === "number" ? e.lines : 0;
    return { rows: [], problems: [problem(line, "invalid_csv", e.message)] };
  }
  const [header, ...body] = records;
  if (!header) return { rows: [], problems: [] };
  if (body.length > MAX_ROWS) return tooManyRows(body.length);

  const columns = header.record.map((c) => c.trim().toLowerCase());
  const headerProblems = checkHeader(columns);
  if (headerProblems.length > 0) return { rows: [], problems: headerProblems };

  const rows: DatasetRow[] = [];
  const problems: Problem[] = [];
  for (const { record, info } of body) {
    // info.lines is where the record ends; a quoted text may span lines.
    const line = info.lines - record.reduce((n, field) => n + (field.match(/\n/g)?.length ?? 0), 0);
    if (record.length !== columns.length) {
      const code = record.length < columns.length ? "missing_column" : "unknown_column";
      problems.push(problem(line, code, `the row has ${record.length} fields, the header has ${columns.length}`));
      continue;
    }
    const fields = Object.fromEntries(columns.map((c, i) => [c === "category" ? "label" : c, record[i]]));
    readRow(fields, line, rows, problems);
  }
  return { rows, problems };
}

function checkHeader(columns: string[]): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const column of columns) {
    const name = column === "category" ? "label" : column;
    if (name !== "text" && name !== "label") {
      problems.push(problem(1, "unknown_column", `unknown column ${JSON.stringify(column)}: the columns are text and label (or category)`));
    } else if (seen.has(name)) {
      problems.push(problem(1, "unknown_column", `column ${JSON.stringify(column)} repeats the ${name} column`));
    }
    seen.add(name);
  }
  for (const name of ["text", "label"]) {
    if (!seen.has(name)) problems.push(problem(1, "missing_column", `the header has no ${name} column`));
  }
  return problems;
}

function readJsonl(content: string): ParsedDataset {
  const lines = content.split("\n");
  const count = lines.filter((l) => l.trim() !== "").length;
  if (count > MAX_ROWS) return tooManyRows(count);

  const rows: DatasetRow[] = [];
  const problems: Problem[] = [];
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      problems.push(problem(line, "invalid_json", `not valid JSON: ${(e as Error).message}`));
      return;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      problems.push(problem(line, "not_an_object", `expected a JSON object like {"text": …, "label": …}, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`));
      return;
    }
    if ("category" in value) {
      if ("label" in value) {
        problems.push(problem(line, "unknown_column", `"category" and "label" are the same field; give one`));
        return;
      }
      const { category, ...rest } = value;
      value = { ...rest, label: category };
    }
    readRow(value, line, rows, problems);
  });
  return { rows, problems };
}

function readRow(fields: unknown, line: number, rows: DatasetRow[], problems: Problem[]): void {
  const parsed = rowSchema.safeParse(fields, { reportInput: true });
  if (parsed.success) {
    rows.push({ line, ...parsed.data, textKey: textKey(parsed.data.text) });
    return;
  }
  for (const issue of parsed.error.issues) problems.push(issueProblem(issue, line));
}

function issueProblem(issue: z.core.$ZodIssue, line: number): Problem {
  const field = issue.path[0];
  if (issue.code === "unrecognized_keys") {
    return problem(line, "unknown_column", `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}: the fields are text and label (or category)`);
  }
  if (issue.code === "invalid_type" && issue.input === undefined) {
    return problem(line, "missing_column", `no ${String(field)} field`);
  }
  if (field === "label") {
    const label = issue.input;
    if (typeof label !== "string") return problem(line, "invalid_label", `the label must be a string, got ${typeName(label)}`);
    return problem(
      line,
      "invalid_label",
      `invalid label ${JSON.stringify(label)}: lower-case letters, digits and _, starting with a letter, at most 64 characters`,
    );
  }
  if (issue.code === "custom") {
    return problem(line, "text_too_long", `the text is ${[...String(issue.input)].length} characters long; at most ${MAX_TEXT_CHARS} are allowed`);
  }
  if (issue.code === "invalid_type") return problem(line, "empty_text", `the text must be a string, got ${typeName(issue.input)}`);
  return problem(line, "empty_text", "the text is empty");
}

function typeName(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

// ---------------------------------------------------------------------------------------------
// Checking: the rows together, and against the database.

function checkRows(read: ParsedDataset, existing: ExistingExamples): ParsedDataset {
  const problems = [...read.problems];
  const firstByKey = new Map<string, DatasetRow>();
  const rows: DatasetRow[] = [];
  for (const row of read.rows) {
    const first = firstByKey.get(row.textKey);
    if (first) {
      if (first.label === row.label) {
        problems.push(problem(row.line, "duplicate", `same text as line ${first.line}; imported once`));
      } else {
        problems.push(problem(row.line, "conflicting_label", `${quote(row.text)} is labelled ${row.label} here but ${first.label} on line ${first.line}`));
      }
      continue;
    }
    firstByKey.set(row.textKey, row);
    const stored = existing.labelByKey.get(row.textKey);
    if (stored !== undefined && stored !== row.label) {
      problems.push(problem(row.line, "conflicting_label", `${quote(row.text)} is labelled ${row.label} here but ${stored} in the database`));
      continue;
    }
    rows.push(row);
  }

  for (const [label, count] of perLabel(rows, existing)) {
    if (count.total < MIN_EXAMPLES_PER_LABEL) {
      const line = rows.find((r) => r.label === label)?.line ?? 0;
      problems.push(
        problem(
          line,
          "too_few_examples",
          `label ${label} would have ${count.total} example(s) (${count.new} new, ${count.total - count.new} already in the database); at least ${MIN_EXAMPLES_PER_LABEL} are needed`,
        ),
      );
    }
  }
  // Stable: problems of one line keep the order they were found in.
  problems.sort((a, b) => a.line - b.line);
  return { rows, problems };
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 59)}…` : text);
}

export interface LabelCount {
  /** Rows of this label in the file, each text once. */
  inFile: number;
  /** Of those, the ones not yet in the database. */
  new: number;
  /** Examples of the label in the database once the file is imported. */
  total: number;
}

function perLabel(rows: DatasetRow[], existing: ExistingExamples): Map<string, LabelCount> {
  const counts = new Map<string, LabelCount>();
  for (const row of rows) {
    let count = counts.get(row.label);
    if (!count) {
      const stored = existing.countByLabel.get(row.label) ?? 0;
      count = { inFile: 0, new: 0, total: stored };
      counts.set(row.label, count);
    }
    count.inFile++;
    if (!existing.labelByKey.has(row.textKey)) {
      count.new++;
      count.total++;
    }
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Importing.

export interface ImportReport {
  /** Null when the file was refused. */
  importId: string | null;
  inserted: number;
  /** Rows whose text the database already has, with the same label. */
  skippedExisting: number;
  /** Repeated rows of the file, imported once. */
  duplicates: number;
  warnings: Problem[];
  errors: Problem[];
  perLabel: Record<string, LabelCount>;
}

export async function importDataset(input: {
  content: string | Buffer;
  format: DatasetFormat;
  actor: string;
  filename: string;
}): Promise<ImportReport> {
  const read = readRows(input.content, input.format);
  const existing = await existingExamples(read.rows.map((r) => r.textKey));
  const { rows, problems } = checkRows(read, existing);
  const errors = problems.filter((p) => p.severity === "error");
  const warnings = problems.filter((p) => p.severity === "warning");
  const fresh = rows.filter((r) => !existing.labelByKey.has(r.textKey));
  const report: ImportReport = {
    importId: null,
    inserted: 0,
    skippedExisting: rows.length - fresh.length,
    duplicates: warnings.filter((p) => p.code === "duplicate").length,
    warnings,
    errors,
    perLabel: Object.fromEntries([...perLabel(rows, existing)].sort(([a], [b]) => byCodeUnits(a, b))),
  };
  if (errors.length > 0) return report;

  const importId = randomUUID();
  try {
    await insertImportedExamples({
      importId,
      rows: fresh,
      actor: input.actor,
      filename: input.filename,
      details: { importId, format: input.format, inserted: fresh.length, skippedExisting: report.skippedExisting, duplicates: report.duplicates },
    });
  } catch (e) {
    if (isUniqueViolation(e)) {
      throw new Error("another import or edit added some of these texts while this one ran; nothing was imported, run it again");
    }
    throw e;
  }
  return { ...report, importId, inserted: fresh.length };
}
