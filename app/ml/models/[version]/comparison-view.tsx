"use client";
/**
 * A candidate against production on the candidate's frozen holdout: headline metrics with deltas,
 * the gate's verdict, per-intent F1 with regressions marked, both confusion matrices, and Promote.
 * A version that has been in shadow shows its live agreement with production beside the gate's figures.
 * The comparison evaluates both models (seconds), so it is fetched after the page has rendered.
 */
import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import type { Comparison, ShadowStats } from "@/lib/protocol/ml";
import ui from "@/app/_console/console.module.css";
import { callApi } from "@/app/_console/api";
import { ConfusionHeatmap } from "../../_components/charts";
import { PromoteForm } from "../promote-form";
import { ShadowFigures } from "../shadow-section";
import { percent, pts } from "@/app/_console/format";
import styles from "../../_components/ml.module.css";

type Verdict = Comparison["verdict"];

export function ComparisonView({ version, isProduction, shadow }: { version: string; isProduction: boolean; shadow: ShadowStats | null }) {
  const [comparison, setComparison] = useState<Comparison | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Kept here, not in the form: the page re-renders as production after a promotion, and the message stays.
  const [promoted, setPromoted] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    void callApi<Comparison>("GET", `/api/ml/models/${encodeURIComponent(version)}/comparison`).then((res) => {
      if (!current) return;
      if (res.ok) setComparison(res.body);
      else setError(res.message);
    });
    return () => {
      current = false;
    };
  }, [version]);

  if (error)
    return (
      <p className={styles.errorBox} role="alert">
        {error}
      </p>
    );
  if (!comparison)
    return (
      <p className={`${ui.card} ${styles.section}`} role="status" data-testid="comparison-loading">
        Evaluating {version} and production on the same holdout…
      </p>
    );
  const { verdict } = comparison;
  return (
    <>
      <section className={`${ui.card} ${styles.section}`} aria-labelledby="verdict-heading" data-testid="comparison">
        <h2 id="verdict-heading">
          {comparison.candidate} against production {comparison.production} ({verdict.holdoutSize} holdout examples)
        </h2>
        <GateVerdict verdict={verdict} />
        <table className={`${ui.table} ${styles.rows}`} data-testid="headline-metrics">
          <thead>
            <tr>
              <th>Metric</th>
              <th>Candidate</th>
              <th>Production</th>
              <th>Change</th>
            </tr>
          </thead>
          <tbody>
            <MetricRow name="Accuracy" candidate={verdict.candidate.accuracy} production={verdict.production.accuracy} />
            <MetricRow name="Macro-F1" candidate={verdict.candidate.macroF1} production={verdict.production.macroF1} />
          </tbody>
        </table>
        {shadow && (
          <>
            <h3>Live, in shadow</h3>
            <ShadowFigures stats={shadow} />
          </>
        )}
        {promoted ? (
          <p className={styles.okBox} role="status" data-testid="promoted">
            {promoted} is now production; every server switches to it within seconds.
          </p>
        ) : isProduction ? (
          <p className={styles.okBox}>This version is production.</p>
        ) : (
          <PromoteForm version={comparison.candidate} kind="classifier" gatePass={verdict.pass} onPromoted={setPromoted} />
        )}
      </section>

      <section className={`${ui.card} ${styles.section}`} aria-labelledby="intents-heading">
        <h2 id="intents-heading">F1 per intent</h2>
        <PerIntentTable verdict={verdict} />
      </section>

      <section className={`${ui.card} ${styles.section}`} aria-labelledby="confusion-heading">
        <h2 id="confusion-heading">Confusion matrices</h2>
        <p className={styles.hint}>Rows are true intents, columns predictions; the shade is the share of the row, misclassifications in red.</p>
        <div className={styles.grid2}>
          <ConfusionHeatmap confusion={comparison.candidateConfusion} title={`Candidate ${comparison.candidate}`} testId="confusion-candidate" />
          <ConfusionHeatmap confusion={comparison.productionConfusion} title={`Production ${comparison.production}`} testId="confusion-production" />
        </div>
      </section>
    </>
  );
}

function GateVerdict({ verdict }: { verdict: Verdict }) {
  return (
    <div className={`${styles.verdict} ${verdict.pass ? styles.verdictPass : styles.verdictFail}`} data-testid="gate-verdict" data-pass={verdict.pass}>
      <p>{verdict.pass ? "✓ The gate passes: the candidate may be promoted." : "✗ The gate refuses this candidate:"}</p>
      {verdict.reasons.length > 0 && (
        <ul>
          {verdict.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Delta({ delta }: { delta: number }) {
  // Arrows as well as colour, so the direction does not depend on seeing red and green.
  const sign = Math.round(delta * 1000);
  return <span className={sign > 0 ? styles.up : sign < 0 ? styles.down : undefined}>{`${sign > 0 ? "▲" : sign < 0 ? "▼" : ""} ${pts(delta)}`.trim()}</span>;
}

function MetricRow({ name, candidate, production }: { name: string; candidate: number; production: number }) {
  return (
    <tr>
      <td>{name}</td>
      <td className={ui.num}>{percent(candidate, 1)}</td>
      <td className={ui.num}>{percent(production, 1)}</td>
      <td className={ui.num}>
        <Delta delta={candidate - production} />
      </td>
    </tr>
  );
}

function PerIntentTable({ verdict }: { verdict: Verdict }) {
  return (
    <div className={ui.tableWrap}>
      <table className={`${ui.table} ${styles.rows}`} data-testid="per-intent">
        <thead>
          <tr>
            <th>Intent</th>
            <th>Holdout examples</th>
            <th>Candidate F1</th>
            <th>Production F1</th>
            <th>Change</th>
            <th>Gate</th>
          </tr>
        </thead>
        <tbody>
          {verdict.perIntent.map((i) => (
            <tr key={i.intent} className={i.regression ? styles.regression : undefined} data-regression={i.regression}>
              <td>
                <span className={ui.tag}>{i.intent}</span>
              </td>
              <td className={ui.num}>{i.support}</td>
              <td className={ui.num}>{percent(i.candidate, 1)}</td>
              <td className={ui.num}>{percent(i.production, 1)}</td>
              <td className={ui.num}>
                <Delta delta={i.delta} />
              </td>
              <td>{i.regression ? <strong className={styles.fail}>⚠ regression</strong> : ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

