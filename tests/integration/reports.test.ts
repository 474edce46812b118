/**
 * Issue 16 item 4, outcome reports, on real PostgreSQL: a constructed history (tests/helpers/report-history.ts)
 * and every figure worked out by hand, per day, per week and per model version; then the admin API's
 * checks (401, 403, 400) and its JSON and CSV on the shared test server.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { OutcomeReport, ReportFigures } from "@/lib/protocol/reports";
import { CLF_1, CLF_2, insertReportHistory, LM_A, LM_B } from "../helpers/report-history";
import { staffApi, staffLogin } from "../helpers/staff";

const serverUrl = inject("serverUrl");
const databaseUrl = inject("databaseUrl");
process.env.DATABASE_URL = databaseUrl;
const { createStaffUser } = await import("@/lib/auth/session");
const { outcomeReport } = await import("@/lib/db/reports");

const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const PASSWORD = "correct horse battery staple";

beforeAll(() => insertReportHistory(pool));
afterAll(() => pool.end());

const EMPTY: ReportFigures = {
  conversations: 0,
  botResolved: 0,
  botResolvedShare: null,
  handoffs: 0,
  handoffRate: null,
  humanReplied: 0,
  firstHumanReplyMedianMs: null,
  firstHumanReplyP90Ms: null,
  closed: 0,
  rated: 0,
  csatAverage: null,
  csatResponseRate: null,
  botReplies: 0,
  badReplies: 0,
};

// Monday: C1 (closed, 5), C2 (idle; staff's bad mark is no 👎), C3 (handoff, agent after 120 s, 3), C4 (👎).
const MONDAY: ReportFigures = {
  conversations: 4,
  botResolved: 2,
  botResolvedShare: 0.5,
  handoffs: 1,
  handoffRate: 0.25,
  humanReplied: 1,
  firstHumanReplyMedianMs: 120_000,
  firstHumanReplyP90Ms: 120_000,
  closed: 2,
  rated: 2,
  csatAverage: 4,
  csatResponseRate: 1,
  botReplies: 5,
  badReplies: 1,
};
// Tuesday with LM B / classifier 2: C5 (handoff, agent after 60 s, 4), C6 (handoff, 300 s), C7 (handoff, no
// reply), C8 (closed by the bot, unrated), C9 (taken over without a handoff, 2).
const TUESDAY_B: ReportFigures = {
  conversations: 5,
  botResolved: 1,
  botResolvedShare: 0.2,
  handoffs: 3,
  handoffRate: 0.6,
  humanReplied: 2,
  firstHumanReplyMedianMs: 180_000,
  // percentile_cont: 60 s + 0.9 × (300 s − 60 s).
  firstHumanReplyP90Ms: 276_000,
  closed: 3,
  rated: 2,
  csatAverage: 3,
  csatResponseRate: 2 / 3,
  botReplies: 9,
  badReplies: 1,
};
// Tuesday with LM A / classifier 1: C10, idle with the bot.
const TUESDAY_A: ReportFigures = { ...EMPTY, conversations: 1, botResolved: 1, botResolvedShare: 1, handoffRate: 0, botReplies: 1 };
const TUESDAY: ReportFigures = {
  conversations: 6,
  botResolved: 2,
  botResolvedShare: 2 / 6,
  handoffs: 3,
  handoffRate: 0.5,
  humanReplied: 2,
  firstHumanReplyMedianMs: 180_000,
  firstHumanReplyP90Ms: 276_000,
  closed: 3,
  rated: 2,
  csatAverage: 3,
  csatResponseRate: 2 / 3,
  botReplies: 10,
  badReplies: 1,
};
const RANGE: ReportFigures = {
  conversations: 10,
  botResolved: 4,
  botResolvedShare: 0.4,
  handoffs: 4,
  handoffRate: 0.4,
  humanReplied: 3,
  firstHumanReplyMedianMs: 120_000,
  // 60, 120, 300 s: 120 s + 0.8 × (300 s − 120 s).
  firstHumanReplyP90Ms: 264_000,
  closed: 5,
  rated: 4,
  csatAverage: 3.5,
  csatResponseRate: 0.8,
  botReplies: 15,
  badReplies: 2,
};

const BY_VERSION = [
  // C3 only ever had a template reply: no language model took part.
  {
    period: "2020-03-02",
    lmVersion: null,
    classifierVersion: CLF_1,
    conversations: 1,
    botResolved: 0,
    botResolvedShare: 0,
    handoffs: 1,
    handoffRate: 1,
    humanReplied: 1,
    firstHumanReplyMedianMs: 120_000,
    firstHumanReplyP90Ms: 120_000,
    closed: 1,
    rated: 1,
    csatAverage: 3,
    csatResponseRate: 1,
    botReplies: 1,
    badReplies: 0,
  },
  // C1, C2, C4.
  {
    period: "2020-03-02",
    lmVersion: LM_A,
    classifierVersion: CLF_1,
    conversations: 3,
    botResolved: 2,
    botResolvedShare: 2 / 3,
    handoffs: 0,
    handoffRate: 0,
    humanReplied: 0,
    firstHumanReplyMedianMs: null,
    firstHumanReplyP90Ms: null,
    closed: 1,
    rated: 1,
    csatAverage: 5,
    csatResponseRate: 1,
    botReplies: 4,
    badReplies: 1,
  },
  { period: "2020-03-03", lmVersion: LM_A, classifierVersion: CLF_1, ...TUESDAY_A },
  { period: "2020-03-03", lmVersion: LM_B, classifierVersion: CLF_2, ...TUESDAY_B },
];

describe("outcome report figures", () => {
  it("per day and per model version, an empty day included, nothing from outside the range", async () => {
    const report = await outcomeReport({ from: "2020-03-02", to: "2020-03-04", granularity: "day" });
    expect(report).toEqual({
      query: { from: "2020-03-02", to: "2020-03-04", granularity: "day" },
      idleMinutes: 30,
      total: RANGE,
      periods: [
        { period: "2020-03-02", ...MONDAY },
        { period: "2020-03-03", ...TUESDAY },
        { period: "2020-03-04", ...EMPTY },
      ],
      byVersion: BY_VERSION,
    });
  });

  it("per week: Monday and Tuesday in one week, still only from the range", async () => {
    const report = await outcomeReport({ from: "2020-03-02", to: "2020-03-04", granularity: "week" });
    expect(report.total).toEqual(RANGE);
    expect(report.periods).toEqual([{ period: "2020-03-02", ...RANGE }]);
    expect(report.byVersion.map((r) => [r.period, r.lmVersion, r.classifierVersion, r.conversations])).toEqual([
      ["2020-03-02", null, CLF_1, 1],
      ["2020-03-02", LM_A, CLF_1, 4],
      ["2020-03-02", LM_B, CLF_2, 5],
    ]);
  });

  it("counts a conversation left with the bot as resolved only once it has been quiet for 30 minutes", async () => {
    // 19 minutes after C2's last message, C10 not yet begun: only the closed C1 and C8 are resolved.
    const report = await outcomeReport({ from: "2020-03-02", to: "2020-03-03", granularity: "day" }, new Date("2020-03-02T11:20:00Z"));
    expect(report.periods.map((p) => p.botResolved)).toEqual([1, 1]);
  });
});

describe("GET /api/staff/admin/reports", () => {
  const url = "/api/staff/admin/reports?from=2020-03-02&to=2020-03-04";
  const cookie = async (role: "agent" | "ml" | "admin") => {
    const email = `reports-${role}-${randomUUID().slice(0, 8)}@example.com`;
    await createStaffUser({ email, name: `Reports ${role}`, role, password: PASSWORD });
    return staffLogin(serverUrl, email, PASSWORD);
  };

  it("is for admins only", async () => {
    expect((await staffApi(serverUrl, url)).status).toBe(401);
    for (const role of ["agent", "ml"] as const) {
      const res = await staffApi(serverUrl, url, { cookie: await cookie(role) });
      expect(res.status).toBe(403);
      expect(res.json.error.code).toBe("forbidden");
    }
    const res = await staffApi<OutcomeReport>(serverUrl, url, { cookie: await cookie("admin") });
    expect(res.status).toBe(200);
    expect(res.json.total).toEqual(RANGE);
    expect(res.json.byVersion).toEqual(BY_VERSION);
  });

  it("refuses a bad query with a clear message", async () => {
    const admin = await cookie("admin");
    for (const [query, message] of [
      ["from=2020-03-04&to=2020-03-02", "to: must not be before from"],
      ["from=2019-01-01&to=2020-03-02", "to: the range may cover at most 366 days"],
      ["from=2020-02-30&to=2020-03-02&granularity=month", "from: must be a calendar date as YYYY-MM-DD; granularity: must be day or week"],
    ]) {
      const res = await staffApi(serverUrl, `/api/staff/admin/reports?${query}`, { cookie: admin });
      expect(res.status).toBe(400);
      expect(res.json).toEqual({ error: { code: "invalid_payload", message } });
    }
  });

  it("downloads the report as CSV", async () => {
    const res = await fetch(`${serverUrl}/api/staff/admin/reports?from=2020-03-02&to=2020-03-03&format=csv`, { headers: { cookie: await cookie("admin") } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="loopdesk-outcomes-2020-03-02-2020-03-03-day.csv"');
    expect((await res.text()).split("\r\n")).toEqual([
      "period,lm_version,classifier_version,conversations,bot_resolved,bot_resolved_share,handoffs,handoff_rate,human_replied,first_human_reply_median_s,first_human_reply_p90_s,closed,rated,csat_average,csat_response_rate,bot_replies,bad_replies",
      "2020-03-02,(all),(all),4,2,0.5,1,0.25,1,120,120,2,2,4,1,5,1",
      "2020-03-02,(none),clf-1,1,0,0,1,1,1,120,120,1,1,3,1,1,0",
      "2020-03-02,lm-a,clf-1,3,2,0.6667,0,0,0,,,1,1,5,1,4,1",
      "2020-03-03,(all),(all),6,2,0.3333,3,0.5,2,180,276,3,2,3,0.6667,10,1",
      "2020-03-03,lm-a,clf-1,1,1,1,0,0,0,,,0,0,,,1,0",
      '2020-03-03,"lm-b,""nightly""",clf-2,5,1,0.2,3,0.6,2,180,276,3,2,3,0.6667,9,1',
      "(all),(all),(all),10,4,0.4,4,0.4,3,120,264,5,4,3.5,0.8,15,2",
      "",
    ]);
  });
});
