/** /ml: the ML console's overview: what production sees, the production model, the latest runs. */
import type { Metadata } from "next";
import Link from "next/link";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { listModels, listRuns, productionStats } from "@/lib/db/ml-console";
import ui from "@/app/_console/console.module.css";
import { MlPage } from "./_components/ml-page";
import { ProductionPanel } from "./_components/production-panel";
import { RunsRefresh } from "./_components/ml-live";
import { RunsTable } from "./_components/runs-table";
import { percent } from "@/app/_console/format";
import styles from "./_components/ml.module.css";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "ML · Loopdesk" };

export default async function MlOverviewPage() {
  const identity = await requireStaffPage(AREA_ROLES.ml, "/ml");
  const [stats, models, runs] = await Promise.all([productionStats("day"), listModels(), listRuns(5)]);
  const production = models.find((m) => m.production);
  return (
    <MlPage identity={identity} title="ML console" aside={<RunsRefresh />}>
      <ProductionPanel initial={stats} />
      <div className={styles.grid2}>
        <section className={`${ui.card} ${styles.section}`} aria-labelledby="model-heading">
          <h2 id="model-heading">Production model</h2>
          {production ? (
            <dl className={ui.stats} data-testid="production-model">
              <div>
                <dt>Version</dt>
                <dd>
                  <span className={ui.tag}>{production.version}</span>
                </dd>
              </div>
              <div>
                <dt>Accuracy</dt>
                <dd>{percent(production.accuracy, 1)}</dd>
              </div>
              <div>
                <dt>Macro-F1</dt>
                <dd>{percent(production.macroF1, 1)}</dd>
              </div>
            </dl>
          ) : (
            <p className={ui.muted}>No version has been promoted yet: the seed model serves.</p>
          )}
          <Link href="/ml/models" className={styles.link}>
            All versions →
          </Link>
        </section>
        <section className={`${ui.card} ${styles.section}`} aria-labelledby="runs-heading">
          <div className={styles.sectionHead}>
            <h2 id="runs-heading">Latest runs</h2>
            <Link href="/ml/runs" className={styles.link}>
              Start a run →
            </Link>
          </div>
          <RunsTable runs={runs} />
        </section>
      </div>
    </MlPage>
  );
}
