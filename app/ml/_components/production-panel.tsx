"use client";
/** What production saw over the last day or week: volume, intents, confidence, handoffs, staff's bad marks and customers' 👍/👎. */
import { useState } from "react";
import type { ProductionStats, ProductionWindow } from "@/lib/ml-protocol";
import staff from "@/app/staff/_components/inbox.module.css";
import { callApi } from "./api";
import { IntentDistributionChart } from "./charts";
import { pct } from "./format";
import styles from "./ml.module.css";

const WINDOWS: { value: ProductionWindow; label: string }[] = [
  { value: "day", label: "Last day" },
  { value: "week", label: "Last week" },
];

export function ProductionPanel({ initial }: { initial: ProductionStats }) {
  const [stats, setStats] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function show(window: ProductionWindow) {
    setBusy(true);
    setError(null);
    const res = await callApi<ProductionStats>("GET", `/api/ml/production?window=${window}`);
    setBusy(false);
    if (res.ok) setStats(res.body);
    else setError(res.message);
  }

  return (
    <section className={`${staff.card} ${styles.section}`} aria-labelledby="production-heading" data-testid="production-panel" aria-busy={busy}>
      <div className={styles.sectionHead}>
        <h2 id="production-heading">Production</h2>
        <div className={styles.toggle} role="group" aria-label="Time window">
          {WINDOWS.map((w) => (
            <button key={w.value} type="button" aria-pressed={stats.window === w.value} disabled={busy} onClick={() => show(w.value)}>
              {w.label}
            </button>
          ))}
        </div>
      </div>
      {error && <p className={styles.errorBox} role="alert">{error}</p>}
      <dl className={styles.stats}>
        <div>
          <dt>Customer messages</dt>
          <dd>{stats.customerMessages}</dd>
        </div>
        <div>
          <dt>Mean confidence</dt>
          <dd>{pct(stats.meanConfidence)}</dd>
        </div>
        <div>
          <dt>Handoff rate</dt>
          <dd>
            {pct(stats.handoffRate)}
            <small>
              {stats.handedOver} of {stats.conversations} chats
            </small>
          </dd>
        </div>
        <div>
          <dt>Bot replies marked bad</dt>
          <dd>
            {pct(stats.badReplyShare)}
            <small>
              {stats.badReplies} of {stats.botReplies}
            </small>
          </dd>
        </div>
        <div>
          <dt>Customers: 👍 helpful</dt>
          <dd data-testid="helpful-share">
            {pct(stats.helpfulReplyShare)}
            <small>
              {stats.helpfulReplies} of {stats.botReplies}
            </small>
          </dd>
        </div>
        <div>
          <dt>Customers: 👎 not helpful</dt>
          <dd data-testid="unhelpful-share">
            {pct(stats.unhelpfulReplyShare)}
            <small>
              {stats.unhelpfulReplies} of {stats.botReplies}
            </small>
          </dd>
        </div>
      </dl>
      {stats.intents.length === 0 ? (
        <p className={staff.empty}>No customer messages in this window.</p>
      ) : (
        <div className={styles.grid2}>
          <IntentDistributionChart intents={stats.intents} />
          <div className={staff.tableWrap}>
            <table className={`${staff.table} ${styles.rows}`}>
              <thead>
                <tr>
                  <th>Intent</th>
                  <th>Messages</th>
                  <th>Share</th>
                  <th>Mean confidence</th>
                </tr>
              </thead>
              <tbody>
                {stats.intents.map((i) => (
                  <tr key={i.intent}>
                    <td>
                      <span className={staff.tag}>{i.intent}</span>
                    </td>
                    <td className={staff.num}>{i.count}</td>
                    <td className={staff.num}>{pct(stats.customerMessages ? i.count / stats.customerMessages : null)}</td>
                    <td className={staff.num}>{pct(i.meanConfidence)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      <p className={styles.hint}>Since {new Date(stats.since).toUTCString()}, from logged messages.</p>
    </section>
  );
}
