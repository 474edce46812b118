"use client";
/**
 * The LM gate's report: the verdict and figures of both models, then each benchmark question with
 * production's reply and the candidate's, the verdicts marked and the replies that differ highlighted.
 */
import { useState } from "react";
import type { JudgedReply, LmGateReportView, LmGateVerdict } from "@/lib/protocol/ml";
import ui from "@/app/_console/console.module.css";
import { callApi } from "@/app/_console/api";
import { percent } from "@/app/_console/format";
import styles from "../../_components/ml.module.css";
import { PromoteForm } from "../../models/promote-form";

type Filter = "all" | "different" | "changed_verdict";

export function SideBySide({ version, isProduction, initial }: { version: string; isProduction: boolean; initial: LmGateReportView | null }) {
  const [report, setReport] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState<Filter>("all");

  async function runGate() {
    setBusy(true);
    setError(null);
    const res = await callApi<LmGateReportView>("POST", `/api/ml/models/${encodeURIComponent(version)}/lm-gate`, {});
    setBusy(false);
    if (res.ok) setReport(res.body);
    else setError(res.message);
  }

  const rows = (report?.replies ?? []).filter((r) =>
    filter === "different" ? r.production.text !== r.candidate.text : filter === "changed_verdict" ? r.production.pass !== r.candidate.pass : true,
  );
  return (
    <>
      <section className={`${ui.card} ${styles.section}`} aria-labelledby="gate-heading">
        <h2 id="gate-heading">Gate</h2>
        {report ? <Verdict verdict={report.verdict} /> : <p className={ui.muted}>The gate has not run on this version yet.</p>}
        <button type="button" className={ui.btn} onClick={runGate} disabled={busy}>
          {busy ? "Asking both models every question (minutes)…" : report ? "Run the gate again" : "Run the gate"}
        </button>
        {error && (
          <p className={styles.errorBox} role="alert">
            {error}
          </p>
        )}
        {!isProduction && report && <PromoteForm version={version} kind="lm" gatePass={report.verdict.pass} />}
        {isProduction && <p className={ui.muted}>This version is in production.</p>}
      </section>

      {report && (
        <section className={`${ui.card} ${styles.section}`} aria-labelledby="questions-heading">
          <h2 id="questions-heading">
            Every question: {report.production} (production) and {report.candidate} (candidate)
          </h2>
          <label className={ui.field}>
            Show
            <select value={filter} onChange={(e) => setFilter(e.target.value as Filter)}>
              <option value="all">all {report.replies.length} questions</option>
              <option value="different">replies that differ</option>
              <option value="changed_verdict">verdicts that differ</option>
            </select>
          </label>
          <div className={ui.tableWrap}>
            <table className={`${ui.table} ${styles.rows}`} data-testid="side-by-side">
              <thead>
                <tr>
                  <th>Question</th>
                  <th>Production</th>
                  <th>Candidate</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => {
                  const differs = r.production.text !== r.candidate.text;
                  return (
                    <tr key={r.id} data-testid={`question-${r.id}`} data-differs={differs}>
                      <td>
                        <span className={styles.code}>{r.id}</span> <span className={ui.muted}>expect {r.expect}</span>
                        <div>{r.text}</div>
                      </td>
                      <ReplyCell reply={r.production} differs={differs} />
                      <ReplyCell reply={r.candidate} differs={differs} />
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </>
  );
}

function Verdict({ verdict }: { verdict: LmGateVerdict }) {
  const rows: [string, (s: LmGateVerdict["candidate"]) => string][] = [
    ["pass", (s) => percent(s.bench.pass, 1)],
    ["facts", (s) => percent(s.bench.facts, 1)],
    ["contradictions", (s) => String(s.bench.contradictions)],
    ["invented", (s) => String(s.bench.invented)],
    ["repetitive", (s) => String(s.bench.repetitive)],
    ["cut off", (s) => String(s.bench.cutOff)],
    ["abstained", (s) => String(s.bench.abstained)],
    ["held-out perplexity", (s) => (s.holdoutPerplexity == null ? "–" : s.holdoutPerplexity.toFixed(2))],
  ];
  return (
    <>
      <p className={verdict.pass ? styles.okBox : styles.errorBox} data-testid="lm-gate-verdict">
        {verdict.pass ? "The gate passes this candidate." : `The gate refuses this candidate:\n${verdict.reasons.join("\n")}`}
      </p>
      <table className={`${ui.table} ${styles.rows}`} data-testid="lm-gate-figures">
        <thead>
          <tr>
            <th>{verdict.questions} questions, {verdict.holdoutExamples} held-out examples</th>
            <th>Production {verdict.production.version}</th>
            <th>Candidate {verdict.candidate.version}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([name, f]) => (
            <tr key={name}>
              <td>{name}</td>
              <td className={ui.num}>{f(verdict.production)}</td>
              <td className={ui.num}>{f(verdict.candidate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function ReplyCell({ reply, differs }: { reply: JudgedReply; differs: boolean }) {
  return (
    <td className={differs ? styles.differs : undefined}>
      <div>{reply.text || <span className={ui.muted}>(no text)</span>}</div>
      <div className={reply.pass ? ui.muted : ui.errorText}>
        {reply.pass ? "✓ pass" : `✗ ${reply.reasons.join("; ")}`}
        {reply.abstained && " · abstained"}
      </div>
    </td>
  );
}
