/** A list of training runs, newest first, each linking to its page. */
import Link from "next/link";
import type { RunView } from "@/lib/protocol/ml";
import { Ago } from "@/app/staff/_components/inbox-time";
import { duration } from "@/app/staff/_components/inbox-format";
import staff from "@/app/staff/_components/inbox.module.css";
import { metric, pct, runFraction } from "./format";
import styles from "./ml.module.css";

export function RunStatus({ status }: { status: RunView["status"] }) {
  return (
    <span className={`${staff.badge} ${styles[`status_${status}`]}`} data-testid="run-status">
      {status}
    </span>
  );
}

export function RunsTable({ runs }: { runs: RunView[] }) {
  if (runs.length === 0) return <p className={staff.empty}>No training runs yet.</p>;
  return (
    <div className={staff.tableWrap}>
      <table className={`${staff.table} ${styles.rows}`}>
        <thead>
          <tr>
            <th>Run</th>
            <th>Status</th>
            <th>Device</th>
            <th>Started by</th>
            <th>Queued</th>
            <th>Duration</th>
            <th>Accuracy</th>
            <th>Macro-F1</th>
            <th>Candidate</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} data-testid={`run-row-${run.id}`}>
              <td>
                <Link href={`/ml/runs/${run.id}`} className={styles.link}>
                  <span className={staff.tag}>{run.id.slice(0, 8)}</span>
                </Link>
              </td>
              <td>
                <RunStatus status={run.status} />
                {run.status === "running" && <span className={staff.muted}> {pct(runFraction(run.progress.last))}</span>}
              </td>
              <td>{run.device}</td>
              <td>{run.createdBy}</td>
              <td className={staff.nowrap}>
                <Ago iso={run.createdAt} />
              </td>
              <td className={staff.num}>{run.durationMs == null ? "–" : duration(run.durationMs)}</td>
              <td className={staff.num}>{pct(metric(run.metrics, "accuracy"))}</td>
              <td className={staff.num}>{pct(metric(run.metrics, "macro_f1"))}</td>
              <td>
                {run.modelVersion ? (
                  <Link href={`/ml/models/${encodeURIComponent(run.modelVersion)}`} className={styles.link}>
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
