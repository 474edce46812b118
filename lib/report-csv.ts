/** The outcome report as CSV (RFC 4180), what `GET /api/staff/admin/reports?format=csv` downloads. */
import type { OutcomeReport, ReportFigures } from "./protocol/reports";

type Cell = string | number | null;

/**
 * One field: quoted when it holds a comma, quote or line break (quotes doubled). Text that a
 * spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe; numbers stay numbers.
 */
export function csvCell(value: Cell): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Lines end in CRLF, as RFC 4180 has it. */
export function toCsv(rows: Cell[][]): string {
  return rows.map((r) => `${r.map(csvCell).join(",")}\r\n`).join("");
}

/** In the version columns: the row covers every version / no version of that kind took part. */
export const ALL_VERSIONS = "(all)";
export const NO_VERSION = "(none)";

const COLUMNS: [string, (f: ReportFigures) => number | null][] = [
  ["conversations", (f) => f.conversations],
  ["bot_resolved", (f) => f.botResolved],
  ["bot_resolved_share", (f) => f.botResolvedShare],
  ["handoffs", (f) => f.handoffs],
  ["handoff_rate", (f) => f.handoffRate],
  ["human_replied", (f) => f.humanReplied],
  ["first_human_reply_median_s", (f) => f.firstHumanReplyMedianMs],
  ["first_human_reply_p90_s", (f) => f.firstHumanReplyP90Ms],
  ["closed", (f) => f.closed],
  ["rated", (f) => f.rated],
  ["csat_average", (f) => f.csatAverage],
  ["csat_response_rate", (f) => f.csatResponseRate],
  ["bot_replies", (f) => f.botReplies],
  ["bad_replies", (f) => f.badReplies],
];

/** Shares and averages to 4 decimals, times in seconds (to the millisecond): readable, and exact enough. */
function value(column: string, n: number | null): number | null {
  if (n === null) return null;
  if (column.endsWith("_s")) return n / 1000;
  return Number.isInteger(n) ? n : Number(n.toFixed(4));
}

/**
 * Each period's row for all versions followed by its rows per version pair, then the whole range
 * (period "(all)"). Medians cannot be summed, so the totals are rows of their own.
 */
export function reportCsv(report: OutcomeReport): string {
  const line = (period: string, lm: string, classifier: string, f: ReportFigures): Cell[] => [
    period,
    lm,
    classifier,
    ...COLUMNS.map(([name, get]) => value(name, get(f))),
  ];
  const rows: Cell[][] = [["period", "lm_version", "classifier_version", ...COLUMNS.map(([name]) => name)]];
  for (const p of report.periods) {
    rows.push(line(p.period, ALL_VERSIONS, ALL_VERSIONS, p));
    for (const v of report.byVersion.filter((r) => r.period === p.period)) {
      rows.push(line(v.period, v.lmVersion ?? NO_VERSION, v.classifierVersion ?? NO_VERSION, v));
    }
  }
  rows.push(line(ALL_VERSIONS, ALL_VERSIONS, ALL_VERSIONS, report.total));
  return toCsv(rows);
}
