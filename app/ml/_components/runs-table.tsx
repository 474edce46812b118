/** A list of training runs, newest first, each linking to its page. */
import Link from "next/link";
import type { RunView } from "@/lib/protocol/ml";
import { Ago } from "@/app/_console/time";
import { duration } from "@/app/_console/format";
import ui from "@/app/_console/console.module.css";
import { metric, runFraction } from "./run-metrics";
import { percent } from "@/app/_console/format";
import styles from "./ml.module.css";

export function RunStatus({ status }: { status: RunView["status"] }) {
  return (
    <span className={`${ui.badge} ${styles[`status_${status}`]}`} data-testid="run-status">
      {status}
    </span>
  );
}

export function RunsTable({ runs }: { runs: RunView[] }) {
  if (runs.length === 0) return <p className={ui.empty}>No training runs yet.</p>;
  return (
    <div className={ui.tableWrap}>
      <table className={`${ui.table} ${styles.rows}`}>
        <thead>
          <tr>
            <th>Run</th>
            <th>Model</th>
            <th>Status</th>
            <th>Device</th>
            <th>Started by</th>
            <th>Queued</th>
            <th>Duration</th>
            <th>Holdout</th>
            <th>Candidate</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} data-testid={`run-row-${run.id}`}>
              <td>
                <Link href={`/ml/runs/${run.id}`} className={styles.link}>
                  <span className={ui.tag}>{run.id.slice(0, 8)}</span>
                </Link>
              </td>
              <td>{run.kind === "lm" ? "language model" : "classifier"}</td>
              <td>
                <RunStatus status={run.status} />
                {run.status === "running" && <span className={ui.muted}> {percent(runFraction(run.progress.last), 1)}</span>}
              </td>
              <td>{run.device}</td>
              <td>{run.createdBy}</td>
              <td className={ui.nowrap}>
                <Ago iso={run.createdAt} />
              </td>
              <td className={ui.num}>{run.durationMs == null ? "–" : duration(run.durationMs)}</td>
              <td className={ui.num}>
                {run.kind === "lm"
                  ? `perplexity ${metric(run.metrics, "holdout_perplexity")?.toFixed(2) ?? "–"}`
                  : `acc ${percent(metric(run.metrics, "accuracy"), 1)} · F1 ${percent(metric(run.metrics, "macro_f1"), 1)}`}
              </td>
              <td>
                {run.modelVersion ? (
                  <Link href={`/ml/${run.kind === "lm" ? "lm" : "models"}/${encodeURIComponent(run.modelVersion)}`} className={styles.link}>
                    {run.modelVersion}
                  </Link>
                ) : (
                  "–"
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
