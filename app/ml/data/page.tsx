/** /ml/data: the training examples per intent, what is wrong with them, import and snapshot download. */
import type { Metadata } from "next";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { datasetSummary } from "@/lib/db/ml-console";
import { lmDataCounts } from "@/lib/dataset/lm-export";
import ui from "@/app/_console/console.module.css";
import { DatasetChart } from "../_components/charts";
import { MlPage } from "../_components/ml-page";
import styles from "../_components/ml.module.css";
import { ImportForm } from "./import-form";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Data · ML · Loopdesk" };

export default async function MlDataPage() {
  const identity = await requireStaffPage(AREA_ROLES.ml, "/ml/data");
  const [summary, lm] = await Promise.all([datasetSummary(), lmDataCounts()]);
  const warned = new Set(summary.warnings.map((w) => w.intent));
  return (
    <MlPage
      identity={identity}
      title="Training data"
      aside={
        <a href="/api/ml/data/snapshot" download className={ui.btn} data-testid="snapshot-link">
          Download snapshot (JSONL)
        </a>
      }
    >
      <section className={`${ui.card} ${styles.section}`} aria-labelledby="import-heading">
        <h2 id="import-heading">Import examples</h2>
        <ImportForm />
        <p className={styles.hint}>
          The same checks as <span className={styles.code}>npx loopdesk dataset import</span>: a file with any error imports nothing.
        </p>
      </section>

      <section className={`${ui.card} ${styles.section}`} aria-labelledby="warnings-heading">
        <h2 id="warnings-heading">Warnings ({summary.warnings.length})</h2>
        {summary.warnings.length === 0 ? (
          <p className={ui.muted}>None.</p>
        ) : (
          <ul className={styles.warnings} data-testid="dataset-warnings">
            {summary.warnings.map((w, i) => (
              <li key={i}>
                <span className={styles.code}>{w.code}</span> {w.intent && <span className={ui.tag}>{w.intent}</span>} {w.message}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className={`${ui.card} ${styles.section}`} aria-labelledby="intents-heading">
        <h2 id="intents-heading">
          Examples per intent: {summary.totals.total} ({summary.totals.seed} seed, {summary.totals.import} imported, {summary.totals.staff} staff-labelled)
        </h2>
        <div className={styles.grid2}>
          <DatasetChart intents={summary.intents} />
          <div className={ui.tableWrap}>
            <table className={`${ui.table} ${styles.rows}`} data-testid="dataset-table">
              <thead>
                <tr>
                  <th>Intent</th>
                  <th>Seed</th>
                  <th>Imported</th>
                  <th>Staff</th>
                  <th>Total</th>
                </tr>
              </thead>
              <tbody>
                {summary.intents.map((i) => (
                  <tr key={i.intent} data-testid={`intent-row-${i.intent}`}>
                    <td>
                      <span className={ui.tag}>{i.intent}</span> {warned.has(i.intent) && <span className={ui.flag}>⚠ see warnings</span>}
                    </td>
                    <td className={ui.num}>{i.seed}</td>
                    <td className={ui.num}>{i.import}</td>
                    <td className={ui.num}>{i.staff}</td>
                    <td className={ui.num}>{i.total}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      </section>

      <section className={`${ui.card} ${styles.section}`} aria-labelledby="lm-heading">
        <h2 id="lm-heading">Language-model answers: {lm.seed + lm.staff_correction + lm.agent_reply + lm.customer_thumbs_up}</h2>
        <div className={ui.tableWrap}>
          <table className={`${ui.table} ${styles.rows}`} data-testid="lm-data-table">
            <tbody>
              <tr data-testid="lm-origin-seed">
                <td>Seed set (training/data/lm_seed.jsonl)</td>
                <td className={ui.num}>{lm.seed}</td>
              </tr>
              <tr data-testid="lm-origin-staff_correction">
                <td>Staff corrections of replies marked Bad</td>
                <td className={ui.num}>{lm.staff_correction}</td>
              </tr>
              <tr data-testid="lm-origin-agent_reply">
                <td>Agent replies marked for training</td>
                <td className={ui.num}>{lm.agent_reply}</td>
              </tr>
              <tr data-testid="lm-origin-customer_thumbs_up">
                <td>Customer 👍 replies not marked Bad</td>
                <td className={ui.num}>{lm.customer_thumbs_up}</td>
              </tr>
            </tbody>
          </table>
        </div>
        <p className={styles.hint}>
          Snapshot: <span className={styles.code}>npx loopdesk dataset export --kind lm</span>
        </p>
      </section>
    </MlPage>
  );
}
