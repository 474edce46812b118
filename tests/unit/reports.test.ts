/** Outcome reports: the query's validation, and the CSV (quoting, formulas, rows and columns). */
import { describe, expect, it } from "vitest";
import { issuesMessage } from "@/lib/http";
import { defaultReportRange, reportRequestSchema, type OutcomeReport, type ReportFigures } from "@/lib/protocol/reports";
import { csvCell, reportCsv, toCsv } from "@/lib/report-csv";

describe("report query", () => {
  it.each([
    [{ from: "2026-11-01", to: "2026-11-30" }, { from: "2026-11-01", to: "2026-11-30", granularity: "day", format: "json" }],
    [{ from: "2026-11-30", to: "2026-11-30", granularity: "week", format: "csv" }, { from: "2026-11-30", to: "2026-11-30", granularity: "week", format: "csv" }],
    // 366 days, both ends included: a leap year.
    [{ from: "2024-01-01", to: "2024-12-31" }, { from: "2024-01-01", to: "2024-12-31", granularity: "day", format: "json" }],
  ])("accepts %j", (input, output) => {
    expect(reportRequestSchema.parse(input)).toEqual(output);
  });

  it.each([
    [{}, "from: must be a calendar date as YYYY-MM-DD; to: must be a calendar date as YYYY-MM-DD"],
    [{ from: "2026-02-30", to: "2026-03-01" }, "from: must be a calendar date as YYYY-MM-DD"],
    [{ from: "2026-3-1", to: "2026-03-01" }, "from: must be a calendar date as YYYY-MM-DD"],
    [{ from: "yesterday", to: "2026-03-01" }, "from: must be a calendar date as YYYY-MM-DD"],
    [{ from: "2026-03-02", to: "2026-03-01" }, "to: must not be before from"],
    [{ from: "2025-01-01", to: "2026-01-02" }, "to: the range may cover at most 366 days"],
    [{ from: "2026-03-01", to: "2026-03-02", granularity: "month" }, "granularity: must be day or week"],
    [{ from: "2026-03-01", to: "2026-03-02", format: "xlsx" }, "format: must be json or csv"],
  ])("refuses %j", (input, message) => {
    const parsed = reportRequestSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(issuesMessage(parsed.error!)).toBe(message);
  });

  it("defaults to the last two weeks, today included", () => {
    expect(defaultReportRange(new Date("2026-11-30T23:59:00Z"))).toEqual({ from: "2026-11-17", to: "2026-11-30" });
  });
});

describe("CSV", () => {
  it.each([
    [null, ""],
    [0.25, "0.25"],
    ["lm-a", "lm-a"],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["two\nlines", '"two\nlines"'],
    ["=HYPERLINK(1)", "'=HYPERLINK(1)"],
    ["-1+1", "'-1+1"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ['=1,"x"', `"'=1,""x"""`],
  ])("writes %j as %s", (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it("ends every line in CRLF", () => {
    expect(toCsv([["a", 1], [null, "b,c"]])).toBe('a,1\r\n,"b,c"\r\n');
  });

  const figures = (conversations: number): ReportFigures => ({
    conversations,
    botResolved: 1,
    botResolvedShare: 1 / 3,
    handoffs: 1,
    handoffRate: 1 / 3,
    humanReplied: 1,
    firstHumanReplyMedianMs: 90_500,
    firstHumanReplyP90Ms: 90_500,
    closed: 2,
    rated: 1,
    csatAverage: 4,
    csatResponseRate: 0.5,
    botReplies: 4,
    badReplies: 1,
  });
  const none: ReportFigures = { ...figures(0), botResolved: 0, botResolvedShare: null, handoffs: 0, handoffRate: null, humanReplied: 0, firstHumanReplyMedianMs: null, firstHumanReplyP90Ms: null, closed: 0, rated: 0, csatAverage: null, csatResponseRate: null, botReplies: 0, badReplies: 0 };

  it("has a row per period, then its version pairs, then the whole range", () => {
    const report: OutcomeReport = {
      query: { from: "2026-11-02", to: "2026-11-03", granularity: "day" },
      idleMinutes: 30,
      total: figures(3),
      periods: [{ period: "2026-11-02", ...figures(3) }, { period: "2026-11-03", ...none }],
      byVersion: [{ period: "2026-11-02", lmVersion: null, classifierVersion: "clf,1", ...figures(3) }],
    };
    const head = "period,lm_version,classifier_version,conversations,bot_resolved,bot_resolved_share,handoffs,handoff_rate,human_replied,first_human_reply_median_s,first_human_reply_p90_s,closed,rated,csat_average,csat_response_rate,bot_replies,bad_replies";
    expect(reportCsv(report).split("\r\n")).toEqual([
      head,
      "2026-11-02,(all),(all),3,1,0.3333,1,0.3333,1,90.5,90.5,2,1,4,0.5,4,1",
      '2026-11-02,(none),"clf,1",3,1,0.3333,1,0.3333,1,90.5,90.5,2,1,4,0.5,4,1',
      "2026-11-03,(all),(all),0,0,,0,,0,,,0,0,,,0,0",
      "(all),(all),(all),3,1,0.3333,1,0.3333,1,90.5,90.5,2,1,4,0.5,4,1",
      "",
    ]);
  });
});
