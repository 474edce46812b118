"use client";
/**
 * One training run, live: progress bar with ETA, loss and holdout curves, epoch evaluations, logs,
 * cancel, and the candidate it registered. Starts from the server-rendered state, then follows the
 * run's events on the /ml socket (the watch ack resynchronises it on every (re)connect).
 */
import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { FINISHED_STATUSES, isLmEval, type EpochEval, type RunEvent, type RunView } from "@/lib/protocol/ml";
import { LiveIndicator } from "@/app/_console/live-socket";
import { duration } from "@/app/_console/format";
import ui from "@/app/_console/console.module.css";
import { callApi } from "@/app/_console/api";
import { EvalChart, LossChart } from "../../_components/charts";
import { metric, runFraction } from "../../_components/run-metrics";
import { percent } from "@/app/_console/format";
import { useMlLive } from "../../_components/ml-live";
import { RunStatus } from "../../_components/runs-table";
import styles from "../../_components/ml.module.css";

/** The trainer's default, for drawing the x axis before the first progress line says otherwise. */
const DEFAULT_EPOCHS = 5;

function applyEvent(run: RunView, event: RunEvent): RunView {
  switch (event.type) {
    case "progress": {
      const losses = run.progress.losses;
      const last = losses.at(-1);
      // A point already in the state (from the watch ack) is not drawn twice.
      const next = last && event.point.x <= last.x ? losses : [...losses, event.point];
      return { ...run, status: run.status === "queued" ? "running" : run.status, progress: { ...run.progress, last: event.progress, losses: next } };
    }
    case "eval": {
      const evals = [...run.progress.evals.filter((e) => e.epoch !== event.eval.epoch), event.eval].sort((a, b) => a.epoch - b.epoch);
      return { ...run, progress: { ...run.progress, evals } };
    }
    case "log":
      return { ...run, logs: `${run.logs ?? ""}${event.line}\n` };
    case "status":
      return { ...run, status: event.status, error: event.error, modelVersion: event.modelVersion };
  }
}

export function RunLive({ initial }: { initial: RunView }) {
  const [run, setRun] = useState(initial);
  const [actionError, setActionError] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);
  // The watch ack may leave the logs out; the ones already here are kept then.
  const replace = (next: RunView) => setRun((r) => ({ ...next, logs: next.logs ?? r.logs }));

  async function reload() {
    const res = await callApi<{ run: RunView }>("GET", `/api/ml/runs/${initial.id}`);
    if (res.ok) replace(res.body.run);
  }

  const live = useMlLive({
    runId: initial.id,
    onRun: replace,
    onEvent: (event) => {
      setRun((r) => applyEvent(r, event));
      // Metrics, duration and the full logs come with the stored run once it is finished.
      if (event.type === "status" && FINISHED_STATUSES.includes(event.status)) void reload();
    },
  });

  async function cancel() {
    setCancelling(true);
    setActionError(null);
    const res = await callApi<{ run: RunView }>("POST", `/api/ml/runs/${run.id}/cancel`, {});
    setCancelling(false);
    if (res.ok) replace(res.body.run);
    else setActionError(res.message);
  }

  const finished = FINISHED_STATUSES.includes(run.status);
  const epochs = run.progress.last?.epochs ?? run.params.epochs ?? DEFAULT_EPOCHS;
  return (
    <>
      <section className={`${ui.card} ${styles.section}`} aria-labelledby="status-heading">
        <div className={styles.sectionHead}>
          <h2 id="status-heading">
            Status: <RunStatus status={run.status} />
          </h2>
          <LiveIndicator state={live} />
        </div>
        <ProgressBar run={run} />
        <div className={styles.actions}>
          {!finished && (
            <button type="button" className={ui.btn} onClick={cancel} disabled={cancelling || run.cancelRequested}>
              {run.cancelRequested ? "Cancelling…" : "Cancel run"}
            </button>
          )}
          {run.status === "succeeded" && run.modelVersion && (
            <p className={styles.okBox} data-testid="run-candidate">
              Registered candidate <span className={ui.tag}>{run.modelVersion}</span> · accuracy {percent(metric(run.metrics, "accuracy"), 1)} · macro-F1{" "}
              {percent(metric(run.metrics, "macro_f1"), 1)} ·{" "}
              <Link href={`/ml/models/${encodeURIComponent(run.modelVersion)}`} className={styles.link}>
                Compare with production →
              </Link>
            </p>
          )}
          {run.status === "cancelled" && <p className={ui.muted}>Cancelled; nothing was registered.</p>}
        </div>
        {run.error && (
          <p className={styles.errorBox} role="alert" data-testid="run-error">
            {run.error}
          </p>
        )}
        {actionError && (
          <p className={styles.errorBox} role="alert">
            {actionError}
          </p>
        )}
      </section>

      <div className={styles.grid2}>
        <section className={`${ui.card} ${styles.section}`} aria-labelledby="loss-heading">
          <h2 id="loss-heading">Training loss</h2>
          <LossChart points={run.progress.losses} epochs={epochs} />
        </section>
        <section className={`${ui.card} ${styles.section}`} aria-labelledby="eval-heading">
          <h2 id="eval-heading">{run.kind === "lm" ? "Held-out loss after each epoch" : "Holdout after each epoch"}</h2>
          <EvalChart evals={run.progress.evals} epochs={epochs} />
          {run.progress.evals.length > 0 && <EvalTable evals={run.progress.evals} />}
        </section>
      </div>

      <section className={`${ui.card} ${styles.section}`} aria-labelledby="logs-heading">
        <h2 id="logs-heading">Logs</h2>
        <Logs text={run.logs ?? ""} />
      </section>
    </>
  );
}

/** The trainer's EVAL lines: accuracy and macro-F1 for a classifier, loss and perplexity for a language model (epoch 0: before training). */
function EvalTable({ evals }: { evals: EpochEval[] }) {
  const lm = evals.some(isLmEval);
  return (
    <table className={`${ui.table} ${styles.rows}`} data-testid="eval-table">
      <thead>
        <tr>
          <th>Epoch</th>
          {lm ? <th>Perplexity</th> : (<><th>Accuracy</th><th>Macro-F1</th></>)}
          <th>Loss</th>
        </tr>
      </thead>
      <tbody>
        {evals.map((e) => (
          <tr key={e.epoch}>
            <td className={ui.num}>{e.epoch === 0 ? "0 (base)" : e.epoch}</td>
            {isLmEval(e) ? (
              <td className={ui.num}>{e.holdout_perplexity.toFixed(2)}</td>
            ) : (
              <>
                <td className={ui.num}>{percent(e.holdout_accuracy, 1)}</td>
                <td className={ui.num}>{percent(e.holdout_macro_f1, 1)}</td>
              </>
            )}
            <td className={ui.num}>{e.holdout_loss?.toFixed(3) ?? "–"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ProgressBar({ run }: { run: RunView }) {
  const last = run.progress.last;
  const fraction = run.status === "succeeded" ? 1 : runFraction(last);
  const percent = Math.round(fraction * 100);
  let text: string;
  if (run.status === "queued") text = "Waiting for the worker…";
  else if (run.status === "running" && !last) text = "Preparing the snapshot and the model…";
  else if (run.status === "running" && last && last.step >= last.steps) text = "Training done; exporting and checking the ONNX model…";
  else if (run.status === "running" && last) text = `${percent}% · epoch ${last.epoch}/${last.epochs} · step ${last.step}/${last.steps} · ETA ${duration(last.eta_s * 1000)}`;
  else text = `${percent}%${run.durationMs != null ? ` · took ${duration(run.durationMs)}` : ""}`;
  return (
    <div className={styles.progress}>
      <div
        className={styles.progressTrack}
        role="progressbar"
        aria-label="Training progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={text}
        data-testid="run-progress"
      >
        <div className={styles.progressFill} style={{ width: `${percent}%` }} />
      </div>
      <span className={styles.progressText} data-testid="run-progress-text">
        {text}
      </span>
    </div>
  );
}

/** The run's log, following new lines unless the reader has scrolled up. */
function Logs({ text }: { text: string }) {
  const ref = useRef<HTMLPreElement>(null);
  const follow = useRef(true);
  useEffect(() => {
    const el = ref.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [text]);
  return (
    <pre
      ref={ref}
      className={styles.logs}
      data-testid="run-logs"
      tabIndex={0}
      onScroll={(e) => {
        const el = e.currentTarget;
        follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}
    >
      {text || "No output yet."}
    </pre>
  );
}
