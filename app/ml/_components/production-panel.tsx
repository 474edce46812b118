"use client";
/** What production saw over the last day or week: volume, intents, confidence, handoffs, staff's bad marks and customers' 👍/👎. */
import { useState } from "react";
import type { ProductionStats, ProductionWindow } from "@/lib/protocol/ml";
import ui from "@/app/_console/console.module.css";
import { callApi } from "@/app/_console/api";
import { IntentDistributionChart } from "./charts";
import { percent } from "@/app/_console/format";
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
    <section className={`${ui.card} ${styles.section}`} aria-labelledby="production-heading" data-testid="production-panel" aria-busy={busy}>
      <div className={styles.sectionHead}>
        <h2 id="production-heading">Production</h2>
        <div className={ui.toggle} role="group" aria-label="Time window">
          {WINDOWS.map((w) => (
            <button key={w.value} type="button" aria-pressed={stats.window === w.value} disabled={busy} onClick={() => show(w.value)}>
              {w.label}
            </button>
          ))}
        </div>
      </div>
      {error && <p className={styles.errorBox} role="alert">{error}</p>}
      <dl className={ui.stats}>
        <div>
          <dt>Customer messages</dt>
          <dd>{stats.customerMessages}</dd>
        </div>
        <div>
          <dt>Mean confidence</dt>
          <dd>{percent(stats.meanConfidence, 1)}</dd>
        </div>
        <ShareStat label="Handoff rate" share={stats.handoffRate} count={stats.handedOver} of={`${stats.conversations} chats`} />
        <ShareStat label="Bot replies marked bad" share={stats.badReplyShare} count={stats.badReplies} of={stats.botReplies} />
        <ShareStat label="Customers: 👍 helpful" share={stats.helpfulReplyShare} count={stats.helpfulReplies} of={stats.botReplies} />
        <ShareStat label="Customers: 👎 not helpful" share={stats.unhelpfulReplyShare} count={stats.unhelpfulReplies} of={stats.botReplies} />
      </dl>
      {stats.intents.length === 0 ? (
        <p className={ui.empty}>No customer messages in this window.</p>
      ) : (
        <div className={styles.grid2}>
          <IntentDistributionChart intents={stats.intents} />
          <div className={ui.tableWrap}>
            <table className={`${ui.table} ${styles.rows}`}>
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
                      <span className={ui.tag}>{i.intent}</span>
                    </td>
                    <td className={ui.num}>{i.count}</td>
                    <td className={ui.num}>{percent(stats.customerMessages ? i.count / stats.customerMessages : null, 1)}</td>
                    <td className={ui.num}>{percent(i.meanConfidence, 1)}</td>
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

/** One figure of the stats list: a share, with the counts it comes from. */
function ShareStat({ label, share, count, of }: { label: string; share: number | null; count: number; of: number | string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>
        {percent(share, 1)}
        <small>
          {count} of {of}
        </small>
      </dd>
    </div>
  );
}
