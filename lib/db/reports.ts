/**
 * Outcome reports: what became of the conversations started in a range, per day or week and per model
 * version, computed in one SQL query from stored columns (statuses, reply decisions, message roles and
 * times, ratings, feedback), never from reply text.
 *
 * A conversation counts under the period it started in and under the versions of its first reply the
 * language model wrote (template replies name no model) and of its first classified customer message.
 */
import { Prisma } from "../generated/prisma/client";
import type { OutcomeReport, ReportFigures, ReportQuery } from "../protocol/reports";
import { db } from "./client";

/** A conversation left with the bot counts as resolved once it has been quiet this long. */
export const REPORT_IDLE_MINUTES = 30;

interface Row {
  scope: "total" | "period" | "version";
  period: string | null;
  lm_version: string | null;
  classifier_version: string | null;
  conversations: number;
  bot_resolved: number;
  handoffs: number;
  human_replied: number;
  first_human_reply_median_ms: number | null;
  first_human_reply_p90_ms: number | null;
  closed: number;
  rated: number;
  csat_average: number | null;
  bot_replies: number;
  bad_replies: number;
}

const share = (n: number, of: number) => (of ? n / of : null);

function figures(r: Row): ReportFigures {
  return {
    conversations: r.conversations,
    botResolved: r.bot_resolved,
    botResolvedShare: share(r.bot_resolved, r.conversations),
    handoffs: r.handoffs,
    handoffRate: share(r.handoffs, r.conversations),
    humanReplied: r.human_replied,
    firstHumanReplyMedianMs: r.first_human_reply_median_ms,
    firstHumanReplyP90Ms: r.first_human_reply_p90_ms,
    closed: r.closed,
    rated: r.rated,
    csatAverage: r.csat_average,
    csatResponseRate: share(r.rated, r.closed),
    botReplies: r.bot_replies,
    badReplies: r.bad_replies,
  };
}

export async function outcomeReport(query: ReportQuery, now = new Date()): Promise<OutcomeReport> {
  const { from, to, granularity } = query;
  const idleBefore = new Date(now.getTime() - REPORT_IDLE_MINUTES * 60_000).toISOString();
  const rows = await db().$queryRaw<Row[]>(Prisma.sql`
    WITH periods AS (
      SELECT generate_series(date_trunc(${granularity}, ${from}::timestamp), ${to}::timestamp,
                             make_interval(days => ${granularity === "week" ? 7 : 1})) AS period
    ),
    conversation AS (
      SELECT c.id, c.status, c.rating, c."lastMessageAt", date_trunc(${granularity}, c."createdAt") AS period, m.*
      FROM "Conversation" c
      CROSS JOIN LATERAL (
        SELECT
          min("createdAt") FILTER (WHERE role = 'bot' AND decision IN ('handoff_asked_for_human', 'handoff_low_confidence')) AS handoff_at,
          count(*) FILTER (WHERE role = 'agent') > 0 AS had_agent,
          count(*) FILTER (WHERE role = 'bot' AND "customerHelpful" = false) > 0 AS thumbs_down,
          count(*) FILTER (WHERE role = 'bot')::int AS bot_replies,
          count(*) FILTER (WHERE role = 'bot' AND feedback = 'bad')::int AS bad_replies,
          (array_agg("modelVersion" ORDER BY "createdAt", id) FILTER (WHERE role = 'bot' AND "modelVersion" <> 'template'))[1] AS lm_version,
          (array_agg("classifierVersion" ORDER BY "createdAt", id) FILTER (WHERE "classifierVersion" IS NOT NULL))[1] AS classifier_version
        FROM "Message" WHERE "conversationId" = c.id
      ) m
      WHERE c."createdAt" >= ${from}::timestamp AND c."createdAt" < ${to}::date + 1
    ),
    outcome AS (
      SELECT *,
        (status = 'closed' OR (status = 'bot' AND "lastMessageAt" < ${idleBefore}::timestamp(3)))
          AND handoff_at IS NULL AND NOT had_agent AND NOT thumbs_down AS bot_resolved,
        extract(epoch FROM (
          SELECT min(a."createdAt") FROM "Message" a
          WHERE a."conversationId" = conversation.id AND a.role = 'agent' AND a."createdAt" >= handoff_at
        ) - handoff_at) * 1000 AS first_human_reply_ms
      FROM conversation
    )
    SELECT
      CASE WHEN grouping(p.period) = 1 THEN 'total' WHEN grouping(o.lm_version) = 1 THEN 'period' ELSE 'version' END AS scope,
      to_char(p.period, 'YYYY-MM-DD') AS period,
      o.lm_version,
      o.classifier_version,
      count(o.id)::int AS conversations,
      count(o.id) FILTER (WHERE o.bot_resolved)::int AS bot_resolved,
      count(o.handoff_at)::int AS handoffs,
      count(o.first_human_reply_ms)::int AS human_replied,
      round(percentile_cont(0.5) WITHIN GROUP (ORDER BY o.first_human_reply_ms))::float8 AS first_human_reply_median_ms,
      round(percentile_cont(0.9) WITHIN GROUP (ORDER BY o.first_human_reply_ms))::float8 AS first_human_reply_p90_ms,
      count(o.id) FILTER (WHERE o.status = 'closed')::int AS closed,
      count(o.rating)::int AS rated,
      avg(o.rating)::float8 AS csat_average,
      coalesce(sum(o.bot_replies), 0)::int AS bot_replies,
      coalesce(sum(o.bad_replies), 0)::int AS bad_replies
    FROM periods p
    LEFT JOIN outcome o ON o.period = p.period
    GROUP BY GROUPING SETS ((), (p.period), (p.period, o.lm_version, o.classifier_version))
    -- An empty period still gets its (zero) row; it has no versions.
    HAVING count(o.id) > 0 OR grouping(o.lm_version) = 1
    ORDER BY p.period NULLS FIRST, o.lm_version NULLS FIRST, o.classifier_version NULLS FIRST
  `);
  const total = rows.find((r) => r.scope === "total")!;
  return {
    query,
    idleMinutes: REPORT_IDLE_MINUTES,
    total: figures(total),
    periods: rows.filter((r) => r.scope === "period").map((r) => ({ period: r.period!, ...figures(r) })),
    byVersion: rows
      .filter((r) => r.scope === "version")
      .map((r) => ({ period: r.period!, lmVersion: r.lm_version, classifierVersion: r.classifier_version, ...figures(r) })),
  };
}
