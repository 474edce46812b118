/**
 * /staff/reports: outcome reports for admins. What became of the conversations started in a range, per
 * day or week and per model version, with charts and a CSV download (the same figures from the API).
 */
import type { Metadata } from "next";
import Link from "next/link";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { outcomeReport } from "@/lib/db/reports";
import { issuesMessage } from "@/lib/http";
import { defaultReportRange, REPORT_GRANULARITIES, reportQuerySchema, type ReportFigures, type ReportQuery, type ReportVersionRow } from "@/lib/protocol/reports";
import { StaffNav } from "@/app/_console/staff-nav";
import { ErrorAlert } from "@/app/_console/error-alert";
import { duration, percent } from "@/app/_console/format";
import ui from "@/app/_console/console.module.css";
import { ReportCharts } from "./report-charts";
import styles from "./reports.module.css";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Reports · Loopdesk" };

const GRANULARITY_LABELS = { day: "Per day", week: "Per week" } as const;

export default async function ReportsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const staff = await requireStaffPage(AREA_ROLES.admin, "/staff/reports");
  const params = await searchParams;
  const given = Object.fromEntries(Object.entries(params).filter((e): e is [string, string] => typeof e[1] === "string" && e[1] !== ""));
  const lastTwoWeeks = defaultReportRange(new Date());
  const parsed = reportQuerySchema.safeParse({ ...lastTwoWeeks, ...given });
  const error = parsed.success ? null : `Showing the last two weeks instead: ${issuesMessage(parsed.error)}`;
  const query: ReportQuery = parsed.success ? parsed.data : { ...lastTwoWeeks, granularity: "day" };
  const report = await outcomeReport(query);
  const link = (q: Record<string, string>) => `?${new URLSearchParams({ from: query.from, to: query.to, granularity: query.granularity, ...q })}`;

  return (
    <>
      <StaffNav staff={staff} />
      <main className={ui.page}>
        <header className={ui.header}>
          <h1>Outcome reports</h1>
          <span className={ui.headerNote}>
            Conversations started {query.from} to {query.to} (UTC)
          </span>
        </header>
        <form className={`${ui.card} ${ui.filters}`} method="get" aria-label="Report range">
          <label className={ui.field}>
            From
            <input type="date" name="from" defaultValue={query.from} required />
          </label>
          <label className={ui.field}>
            To
            <input type="date" name="to" defaultValue={query.to} required />
          </label>
          <input type="hidden" name="granularity" value={query.granularity} />
          <button type="submit" className={`${ui.btn} ${ui.btnPrimary}`}>
            Show
          </button>
          <nav className={ui.toggle} aria-label="Granularity">
            {REPORT_GRANULARITIES.map((g) => (
              <Link key={g} href={link({ granularity: g })} aria-current={query.granularity === g ? "true" : undefined}>
                {GRANULARITY_LABELS[g]}
              </Link>
            ))}
          </nav>
          <a className={`${ui.btn} ${styles.download}`} href={`/api/staff/admin/reports${link({ format: "csv" })}`} download>
            Download CSV
          </a>
        </form>
        <ErrorAlert error={error} />

        <section className={`${ui.card} ${styles.section}`} aria-labelledby="total-heading">
          <h2 id="total-heading">The whole range</h2>
          <Summary figures={report.total} />
          <div className={styles.charts}>
            <ReportCharts periods={report.periods} />
          </div>
          <p className={styles.hint}>
            Resolved by the bot: closed, or left with the bot and quiet for {report.idleMinutes} minutes, without a handoff, an agent
            message or a customer&apos;s 👎. Time to the first human reply: from the bot&apos;s first handoff to the first agent
            message after it. A conversation counts under the day or week it started in (weeks start on Monday) and the versions of its
            first language-model reply and its first classified message.
          </p>
        </section>

        <section className={`${ui.card} ${styles.section}`} aria-labelledby="periods-heading">
          <h2 id="periods-heading">{GRANULARITY_LABELS[query.granularity]}</h2>
          <FiguresTable label={GRANULARITY_LABELS[query.granularity]} rows={report.periods} />
        </section>
        <section className={`${ui.card} ${styles.section}`} aria-labelledby="versions-heading">
          <h2 id="versions-heading">Per model version</h2>
          <FiguresTable label="Per model version" rows={report.byVersion} versions />
        </section>
      </main>
    </>
  );
}

function Summary({ figures: f }: { figures: ReportFigures }) {
  const stat = (label: string, value: string, detail?: string) => (
    <div>
      <dt>{label}</dt>
      <dd>
        {value}
        {detail && <small>{detail}</small>}
      </dd>
    </div>
  );
  return (
    <dl className={ui.stats} data-testid="report-total">
      {stat("Conversations", String(f.conversations))}
      {stat("Resolved by the bot", percent(f.botResolvedShare, 1), `${f.botResolved} of ${f.conversations}`)}
      {stat("Handoff rate", percent(f.handoffRate, 1), `${f.handoffs} of ${f.conversations}`)}
      {stat("First human reply", time(f.firstHumanReplyMedianMs), `median; p90 ${time(f.firstHumanReplyP90Ms)}`)}
      {stat("CSAT", csat(f.csatAverage), `${percent(f.csatResponseRate, 1)} of ${f.closed} closed rated`)}
      {stat("Replies marked bad", String(f.badReplies), `of ${f.botReplies}`)}
    </dl>
  );
}

const time = (ms: number | null) => (ms === null ? "–" : duration(ms));
const csat = (average: number | null) => (average === null ? "–" : `${average.toFixed(2)} / 5`);
const withCount = (share: number | null, n: number) => `${percent(share, 1)} (${n})`;

function FiguresTable({ label, rows, versions }: { label: string; rows: (ReportFigures & { period: string } & Partial<ReportVersionRow>)[]; versions?: boolean }) {
  return (
    <div className={ui.tableWrap}>
      <table className={ui.table} aria-label={label}>
        <thead>
          <tr>
            <th>Period</th>
            {versions && <th>Language model</th>}
            {versions && <th>Classifier</th>}
            <th>Conversations</th>
            <th>Resolved by the bot</th>
            <th>Handoff rate</th>
            <th>First human reply (median / p90)</th>
            <th>CSAT</th>
            <th>CSAT response rate</th>
            <th>Replies marked bad</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.period} ${r.lmVersion} ${r.classifierVersion}`}>
              <td className={ui.nowrap}>{r.period}</td>
              {versions && <td>{r.lmVersion ?? "none"}</td>}
              {versions && <td>{r.classifierVersion ?? "none"}</td>}
              <td className={ui.num}>{r.conversations}</td>
              <td className={ui.num}>{withCount(r.botResolvedShare, r.botResolved)}</td>
              <td className={ui.num}>{withCount(r.handoffRate, r.handoffs)}</td>
              <td className={ui.num}>
                {time(r.firstHumanReplyMedianMs)} / {time(r.firstHumanReplyP90Ms)}
              </td>
              <td className={ui.num}>{csat(r.csatAverage)}</td>
              <td className={ui.num}>{withCount(r.csatResponseRate, r.rated)}</td>
              <td className={ui.num}>
                {r.badReplies} of {r.botReplies}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <div className={ui.empty}>No conversations started in this range.</div>}
    </div>
  );
}
