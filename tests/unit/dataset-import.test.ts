import { describe, expect, it } from "vitest";
import {
  MAX_FILE_BYTES,
  MAX_ROWS,
  MAX_TEXT_CHARS,
  formatFromFilename,
  parseDataset,
  type DatasetFormat,
  type ProblemCode,
} from "@/lib/dataset/import";
import type { ExistingExamples } from "@/lib/db/examples";

type Row = { text: string; label: string };

/** Five distinct texts of a label: enough for it, so that a case is only about its own rows. */
function enough(label: string, count = 5): Row[] {
  return Array.from({ length: count }, (_, i) => ({ text: `${label} example ${i}`, label }));
}

function csv(...lines: string[]): string {
  return lines.join("\n");
}

function csvRows(rows: Row[]): string[] {
  return rows.map((r) => `${r.text},${r.label}`);
}

function jsonl(...values: unknown[]): string {
  return values.map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join("\n");
}

const GOOD = enough("greeting");
const LONG = "a".repeat(MAX_TEXT_CHARS + 1);

const cases: { name: string; format: DatasetFormat; content: string; problems: [number, ProblemCode][] }[] = [
  // CSV
  { name: "csv: unknown column", format: "csv", content: csv("text,label,id", "hello,greeting,1"), problems: [[1, "unknown_column"]] },
  { name: "csv: label and category both", format: "csv", content: csv("text,label,category", "hello,greeting,x"), problems: [[1, "unknown_column"]] },
  { name: "csv: missing column", format: "csv", content: csv("text", "hello"), problems: [[1, "missing_column"]] },
  { name: "csv: row with too few fields", format: "csv", content: csv("text,label", "hello", ...csvRows(GOOD)), problems: [[2, "missing_column"]] },
  { name: "csv: row with too many fields", format: "csv", content: csv("text,label", "hello,there,greeting", ...csvRows(GOOD)), problems: [[2, "unknown_column"]] },
  { name: "csv: empty text", format: "csv", content: csv("text,label", ...csvRows(GOOD), "   ,greeting"), problems: [[7, "empty_text"]] },
  { name: "csv: text too long", format: "csv", content: csv("text,label", `${LONG},greeting`, ...csvRows(GOOD)), problems: [[2, "text_too_long"]] },
  { name: "csv: invalid label", format: "csv", content: csv("text,label", ...csvRows(GOOD), "hi there,Greeting"), problems: [[7, "invalid_label"]] },
  { name: "csv: empty label", format: "csv", content: csv("text,label", ...csvRows(GOOD), "hi there,"), problems: [[7, "invalid_label"]] },
  { name: "csv: duplicate", format: "csv", content: csv("text,label", ...csvRows(GOOD), "  Greeting   EXAMPLE 0 ,greeting"), problems: [[7, "duplicate"]] },
  {
    name: "csv: conflicting labels in the file",
    format: "csv",
    content: csv("text,label", ...csvRows([...GOOD, ...enough("farewell")]), "greeting example 0,farewell"),
    problems: [[12, "conflicting_label"]],
  },
  { name: "csv: too few examples", format: "csv", content: csv("text,label", ...csvRows([...GOOD, ...enough("farewell", 4)])), problems: [[7, "too_few_examples"]] },
  { name: "csv: unclosed quote", format: "csv", content: csv("text,label", ...csvRows(GOOD), '"hello,greeting'), problems: [[7, "invalid_csv"]] },
  { name: "csv: nothing but a header", format: "csv", content: csv("text,label", ""), problems: [[0, "empty_file"]] },
  { name: "csv: empty", format: "csv", content: "", problems: [[0, "empty_file"]] },
  {
    name: "csv: too many rows",
    format: "csv",
    content: csv("text,label", ...csvRows(Array.from({ length: MAX_ROWS + 1 }, (_, i) => ({ text: `t${i}`, label: "x" })))),
    problems: [[0, "too_large"]],
  },
  { name: "csv: too many bytes", format: "csv", content: `text,label\n${"a".repeat(MAX_FILE_BYTES)},x`, problems: [[0, "too_large"]] },

  // JSON Lines
  { name: "jsonl: invalid JSON", format: "jsonl", content: jsonl(...GOOD, '{"text": "hi", "label": '), problems: [[6, "invalid_json"]] },
  { name: "jsonl: not an object", format: "jsonl", content: jsonl(...GOOD, [1], 5, null, '"hello"'), problems: [[6, "not_an_object"], [7, "not_an_object"], [8, "not_an_object"], [9, "not_an_object"]] },
  { name: "jsonl: unknown field", format: "jsonl", content: jsonl({ ...GOOD[0], id: 1 }, ...GOOD.slice(1), { text: "x", label: "greeting" }), problems: [[1, "unknown_column"]] },
  { name: "jsonl: label and category both", format: "jsonl", content: jsonl(...GOOD, { text: "x", label: "greeting", category: "greeting" }), problems: [[6, "unknown_column"]] },
  { name: "jsonl: missing field", format: "jsonl", content: jsonl(...GOOD, { text: "x" }), problems: [[6, "missing_column"]] },
  { name: "jsonl: empty text", format: "jsonl", content: jsonl(...GOOD, { text: " \t", label: "greeting" }), problems: [[6, "empty_text"]] },
  { name: "jsonl: text not a string", format: "jsonl", content: jsonl(...GOOD, { text: 42, label: "greeting" }), problems: [[6, "empty_text"]] },
  { name: "jsonl: text too long", format: "jsonl", content: jsonl(...GOOD, { text: LONG, label: "greeting" }), problems: [[6, "text_too_long"]] },
  { name: "jsonl: invalid label", format: "jsonl", content: jsonl(...GOOD, { text: "x", label: "9lives" }), problems: [[6, "invalid_label"]] },
  { name: "jsonl: label not a string", format: "jsonl", content: jsonl(...GOOD, { text: "x", label: 7 }), problems: [[6, "invalid_label"]] },
  { name: "jsonl: label too long", format: "jsonl", content: jsonl(...GOOD, { text: "x", label: `a${"b".repeat(64)}` }), problems: [[6, "invalid_label"]] },
  { name: "jsonl: duplicate", format: "jsonl", content: jsonl(...GOOD, GOOD[2]), problems: [[6, "duplicate"]] },
  { name: "jsonl: conflicting labels in the file", format: "jsonl", content: jsonl(...GOOD, ...enough("farewell"), { ...GOOD[2], label: "farewell" }), problems: [[11, "conflicting_label"]] },
  { name: "jsonl: too few examples", format: "jsonl", content: jsonl(...enough("farewell", 1), ...GOOD), problems: [[1, "too_few_examples"]] },
  {
    name: "jsonl: too many rows",
    format: "jsonl",
    content: jsonl(...Array.from({ length: MAX_ROWS + 1 }, (_, i) => ({ text: `t${i}`, label: "x" }))),
    problems: [[0, "too_large"]],
  },
  { name: "jsonl: empty", format: "jsonl", content: "\n\n", problems: [[0, "empty_file"]] },
];

describe("parseDataset", () => {
  it.each(cases)("$name", ({ format, content, problems }) => {
    const result = parseDataset(content, format);
    expect(result.problems.map((p) => [p.line, p.code])).toEqual(problems);
    for (const p of result.problems) {
      expect(p.severity).toBe(p.code === "duplicate" ? "warning" : "error");
      expect(p.message.length).toBeGreaterThan(5);
    }
  });

  it("reads a clean CSV file, trimming texts and labels", () => {
    const { rows, problems } = parseDataset(csv("text,label", ...csvRows(GOOD), "  Hi   there ,  greeting "), "csv");
    expect(problems).toEqual([]);
    expect(rows).toHaveLength(6);
    expect(rows.at(-1)).toEqual({ line: 7, text: "Hi   there", label: "greeting", textKey: "hi there" });
  });

  it("reads quoted CSV fields with commas, quotes and line breaks, CRLF line ends and a BOM", () => {
    const content = [
      "\uFEFFtext,label",
      '"Hello, ""friend""",greeting',
      '"two\r\nlines",greeting',
      "",
      ...csvRows(enough("greeting", 3)),
      '"bad, label",Greeting',
    ].join("\r\n");
    const { rows, problems } = parseDataset(Buffer.from(content), "csv");
    expect(rows.slice(0, 2)).toEqual([
      { line: 2, text: 'Hello, "friend"', label: "greeting", textKey: 'hello, "friend"' },
      { line: 3, text: "two\nlines", label: "greeting", textKey: "two lines" },
    ]);
    expect(rows[2]?.line).toBe(6);
    // Line numbers stay right after a text that spans lines.
    expect(problems.map((p) => [p.line, p.code])).toEqual([[9, "invalid_label"]]);
  });

  it("accepts category for label, in any column order, and header names in any case", () => {
    const fromCsv = parseDataset(csv("Category, TEXT", ...GOOD.map((r) => `${r.label},${r.text}`)), "csv");
    const fromJsonl = parseDataset(jsonl(...GOOD.map((r) => ({ category: r.label, text: r.text }))), "jsonl");
    expect(fromCsv.problems).toEqual([]);
    expect(fromJsonl.problems).toEqual([]);
    expect(fromCsv.rows.map((r) => [r.text, r.label])).toEqual(GOOD.map((r) => [r.text, r.label]));
    expect(fromJsonl.rows.map((r) => [r.text, r.label])).toEqual(GOOD.map((r) => [r.text, r.label]));
  });

  it("reads JSON Lines with a BOM, CRLF line ends and blank lines", () => {
    const { rows, problems } = parseDataset(`\uFEFF${GOOD.map((r) => JSON.stringify(r)).join("\r\n\r\n")}\r\n`, "jsonl");
    expect(problems).toEqual([]);
    expect(rows.map((r) => r.line)).toEqual([1, 3, 5, 7, 9]);
  });

  it("counts a text's length in characters, not UTF-16 units", () => {
    const emoji = "😀".repeat(MAX_TEXT_CHARS);
    expect(parseDataset(jsonl(...GOOD, { text: emoji, label: "greeting" }), "jsonl").problems).toEqual([]);
  });

  it("keeps a duplicated row once", () => {
    const { rows } = parseDataset(jsonl(...GOOD, GOOD[0], GOOD[0]), "jsonl");
    expect(rows).toHaveLength(5);
  });

  it("names the lines in a message", () => {
    const [conflict] = parseDataset(jsonl(...GOOD, ...enough("farewell"), { text: "Greeting example 1", label: "farewell" }), "jsonl").problems;
    expect(conflict?.message).toBe('"Greeting example 1" is labelled farewell here but greeting on line 2');
  });
});

describe("parseDataset against the database", () => {
  const existing: ExistingExamples = {
    labelByKey: new Map([
      ["greeting example 0", "greeting"],
      ["see you", "farewell"],
    ]),
    countByLabel: new Map([
      ["greeting", 1],
      ["farewell", 3],
    ]),
  };

  it("refuses a text the database has under another label", () => {
    const { problems } = parseDataset(jsonl(...GOOD, { text: "See  you", label: "greeting" }), "jsonl", existing);
    expect(problems).toEqual([
      { line: 6, code: "conflicting_label", severity: "error", message: '"See  you" is labelled greeting here but farewell in the database' },
    ]);
  });

  it("counts the examples the database has towards a label's minimum, each text once", () => {
    // 3 stored + 2 new farewells; greeting example 0 is stored already and counts once.
    const { problems, rows } = parseDataset(jsonl(...enough("farewell", 2), ...GOOD), "jsonl", existing);
    expect(problems).toEqual([]);
    expect(rows).toHaveLength(7);
    expect(parseDataset(jsonl(...enough("farewell", 1), ...GOOD), "jsonl", existing).problems).toMatchObject([
      { line: 1, code: "too_few_examples", message: "label farewell would have 4 example(s) (1 new, 3 already in the database); at least 5 are needed" },
    ]);
  });
});

describe("formatFromFilename", () => {
  it.each([
    ["data.csv", "csv"],
    ["DATA.CSV", "csv"],
    ["banking77/train.jsonl", "jsonl"],
    ["x.ndjson", "jsonl"],
  ])("%s is %s", (name, format) => {
    expect(formatFromFilename(name)).toBe(format);
  });

  it.each(["data.json", "data.txt", "data"])("refuses %s", (name) => {
    expect(() => formatFromFilename(name)).toThrow(/use a \.csv, \.jsonl or \.ndjson file/);
  });
});
