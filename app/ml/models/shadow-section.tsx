"use client";
/**
 * Shadow before promotion on the models page: the version in shadow with its live agreement with
 * production, the intents they disagree on most, and the disagreements for staff to label (each label
 * becomes training data like a label in the staff console); a button to stop, and one per version to start.
 */
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import type { ShadowQueueItem, ShadowStats, ShadowView } from "@/lib/protocol/ml";
import ui from "@/app/_console/console.module.css";
import { useApi } from "@/app/_console/api";
import { percent } from "@/app/_console/format";
import { Ago } from "@/app/_console/time";
import styles from "../_components/ml.module.css";

/** The figures grow with every customer message: the page re-renders this often while a version is in shadow. */
const REFRESH_MS = 15_000;

export function ShadowSection({ shadow }: { shadow: ShadowView["shadow"] }) {
  const stop = useApi();
  const router = useRouter();
  const shadowing = shadow !== null;
  useEffect(() => {
    if (!shadowing) return;
    const timer = setInterval(() => router.refresh(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [shadowing, router]);
  return (
    <section className={`${ui.card} ${styles.section}`} aria-labelledby="shadow-heading" data-testid="shadow-section">
      <div className={styles.sectionHead}>
        <h2 id="shadow-heading">Shadow</h2>
        {shadow && (
          <button type="button" className={ui.btn} disabled={stop.busy} onClick={() => void stop.send("DELETE", "/api/ml/shadow")}>
            {stop.busy ? "Stopping…" : "Stop shadowing"}
          </button>
        )}
      </div>
      {stop.error && (
        <p className={styles.errorBox} role="alert">
          {stop.error}
        </p>
      )}
      {!shadow ? (
        <p className={ui.muted}>
          Nothing is in shadow. A candidate in shadow classifies every live customer message beside production, without changing any reply: start one
          with its Shadow button above.
        </p>
      ) : (
        <>
          <p>
            <span className={styles.code}>{shadow.version}</span> in shadow since <Ago iso={shadow.since} /> (by {shadow.actor}), beside production{" "}
            <span className={styles.code}>{shadow.production ?? "–"}</span>.
          </p>
          <ShadowFigures stats={shadow.stats} />
          <h3>Disagreements to label ({shadow.queue.length})</h3>
          {shadow.queue.length === 0 ? (
            <p className={ui.muted}>None waiting.</p>
          ) : (
            <div className={ui.tableWrap}>
              <table className={`${ui.table} ${styles.rows}`} data-testid="shadow-queue">
                <thead>
                  <tr>
                    <th>Message</th>
                    <th>Production says</th>
                    <th>Shadow says</th>
                    <th>Label</th>
                  </tr>
                </thead>
                <tbody>
                  {shadow.queue.map((q) => (
                    <QueueRow key={q.messageId} item={q} intents={shadow.intents} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}

/** Live agreement with production and the intents they disagree on most; also shown when promoting. */
export function ShadowFigures({ stats }: { stats: ShadowStats }) {
  const l = stats.labelled;
  return (
    <div data-testid="shadow-figures">
      <p>
        Live agreement with production: <strong data-testid="shadow-agreement">{percent(stats.agreement, 1)}</strong> of {stats.messages} customer
        message(s). Staff labelled {l.disagreements} disagreement(s): the shadow was right on {l.shadowRight}, production on {l.productionRight}.
      </p>
      {stats.disagreeing.length > 0 && (
        <div className={ui.tableWrap}>
          <table className={`${ui.table} ${styles.rows}`} data-testid="shadow-disagreeing">
            <thead>
              <tr>
                <th>Production intent</th>
                <th>Messages</th>
                <th>Disagreements</th>
                <th>Shadow says most often</th>
              </tr>
            </thead>
            <tbody>
              {stats.disagreeing.map((d) => (
                <tr key={d.intent}>
                  <td>
                    <span className={ui.tag}>{d.intent}</span>
                  </td>
                  <td className={ui.num}>{d.messages}</td>
                  <td className={ui.num}>
                    {d.disagreements} ({percent(d.rate)})
                  </td>
                  <td>{d.shadowSays ? <span className={ui.tag}>{d.shadowSays}</span> : "–"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function QueueRow({ item, intents }: { item: ShadowQueueItem; intents: string[] }) {
  const [intent, setIntent] = useState(item.productionIntent);
  const label = useApi();
  return (
    <tr data-testid={`shadow-queue-${item.messageId}`}>
      <td className={ui.preview}>{item.text}</td>
      <td>
        <span className={ui.tag}>{item.productionIntent}</span> {percent(item.productionProbability)}
      </td>
      <td>
        <span className={ui.tag}>{item.shadowIntent}</span> {percent(item.shadowProbability)}
      </td>
      <td>
        <form
          className={styles.form}
          aria-label={`Label "${item.text}"`}
          onSubmit={(e) => {
            e.preventDefault();
            void label.send("POST", `/api/ml/shadow/queue/${item.messageId}/label`, { intent });
          }}
        >
          <select className={ui.select} aria-label="Intent" value={intent} onChange={(e) => setIntent(e.target.value)}>
            {/* The intents a label may name (the shadow's own may be one production does not know). */}
            {[...new Set([item.productionIntent, ...intents])].map((i) => (
              <option key={i} value={i}>
                {i}
              </option>
            ))}
          </select>
          <button type="submit" className={ui.btn} disabled={label.busy}>
            Label
          </button>
          {label.error && (
            <span className={ui.errorText} role="alert">
              {label.error}
            </span>
          )}
        </form>
      </td>
    </tr>
  );
}

/** The Shadow button of a version row: every server starts classifying live messages with it too. */
export function ShadowButton({ version }: { version: string }) {
  const start = useApi();
  return (
    <>
      <button type="button" className={ui.btn} disabled={start.busy} onClick={() => void start.send("POST", "/api/ml/shadow", { version })}>
        {start.busy ? "Loading…" : "Shadow"}
      </button>
      {start.error && (
        <span className={ui.errorText} role="alert">
          {start.error}
        </span>
      )}
    </>
  );
}
