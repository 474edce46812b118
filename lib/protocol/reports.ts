/**
 * Outcome reports (/staff/reports, `GET /api/staff/admin/reports`): the query, validated at the
 * boundary, and the figures per day or week and per model version.
 */
import { z } from "zod";

export const REPORT_GRANULARITIES = ["day", "week"] as const;
export type ReportGranularity = (typeof REPORT_GRANULARITIES)[number];

/** The longest range one report covers, in days (both ends included). */
export const REPORT_MAX_DAYS = 366;

const DAY_MS = 24 * 3600_000;

/** "2026-11-30" as midnight UTC, or NaN when it is not a calendar date in that form (e.g. 2026-02-30, 2026-3-1). */
export function utcDay(date: string): number {
  const t = Date.parse(`${date}T00:00:00Z`);
  return Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== date ? Number.NaN : t;
}

const DATE_MESSAGE = "must be a calendar date as YYYY-MM-DD";
const isoDate = z.string({ message: DATE_MESSAGE }).refine((d) => !Number.isNaN(utcDay(d)), DATE_MESSAGE);

const queryFields = z.object({
  from: isoDate,
  to: isoDate,
  granularity: z.enum(REPORT_GRANULARITIES, { message: "must be day or week" }).default("day"),
});

/** Days from `from` to `to`, both included (NaN when either is not a date, which isoDate reports). */
const rangeDays = (q: { from: string; to: string }) => (utcDay(q.to) - utcDay(q.from)) / DAY_MS + 1;

/** `to` not before `from`, and the range at most REPORT_MAX_DAYS long. */
function checkRange<S extends z.ZodType<{ from: string; to: string }>>(schema: S) {
  return schema
    .refine((q) => !(rangeDays(q) < 1), { message: "must not be before from", path: ["to"] })
    .refine((q) => !(rangeDays(q) > REPORT_MAX_DAYS), {
      message: `the range may cover at most ${REPORT_MAX_DAYS} days`,
      path: ["to"],
    });
}

export const reportQuerySchema = checkRange(queryFields);
export type ReportQuery = z.output<typeof reportQuerySchema>;

/** What the API takes: the query, and `format=csv` for a CSV download instead of JSON. */
export const reportRequestSchema = checkRange(queryFields.extend({ format: z.enum(["json", "csv"], { message: "must be json or csv" }).default("json") }));

/** The last two weeks up to today (UTC), per day: what the page shows without a query. */
export function defaultReportRange(now: Date): { from: string; to: string } {
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);
  return { from: day(now.getTime() - 13 * DAY_MS), to: day(now.getTime()) };
}

/**
 * A group of conversations' outcomes. Shares are null when nothing counts towards them; times are in
 * milliseconds, from the conversation's first handoff to the first agent message after it.
 */
export interface ReportFigures {
  conversations: number;
  /** Closed, or idle with the bot, without a handoff, an agent message or a 👎. */
  botResolved: number;
  botResolvedShare: number | null;
  /** Conversations the bot handed to staff. */
  handoffs: number;
  handoffRate: number | null;
  /** Handoffs an agent has replied to; the times below are theirs. */
  humanReplied: number;
  firstHumanReplyMedianMs: number | null;
  firstHumanReplyP90Ms: number | null;
  closed: number;
  /** Closed conversations the customer rated; the response rate is rated / closed. */
  rated: number;
  csatAverage: number | null;
  csatResponseRate: number | null;
  botReplies: number;
  /** Bot replies staff marked bad. */
  badReplies: number;
}

export interface ReportPeriod extends ReportFigures {
  /** The first day of the day or week (weeks start on Monday), YYYY-MM-DD. */
  period: string;
}

/** One period's conversations made with one pair of versions (null: none of that kind took part). */
export interface ReportVersionRow extends ReportPeriod {
  lmVersion: string | null;
  classifierVersion: string | null;
}

export interface OutcomeReport {
  query: ReportQuery;
  /** How long a conversation left with the bot must be quiet to count as resolved. */
  idleMinutes: number;
  total: ReportFigures;
  /** Every period of the range, in order, those without conversations included. */
  periods: ReportPeriod[];
  byVersion: ReportVersionRow[];
}
