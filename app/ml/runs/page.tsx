/** /ml/runs: start a fine-tuning run; every run with its status, kept current live. */
import type { Metadata } from "next";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { listRuns } from "@/lib/db/ml-console";
import ui from "@/app/_console/console.module.css";
import { MlPage } from "../_components/ml-page";
import { RunsRefresh } from "../_components/ml-live";
import { RunsTable } from "../_components/runs-table";
import styles from "../_components/ml.module.css";
import { StartRunForm } from "./start-run-form";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Runs · ML · Loopdesk" };

export default async function MlRunsPage() {
  const identity = await requireStaffPage(AREA_ROLES.ml, "/ml/runs");
  const runs = await listRuns();
  return (
    <MlPage identity={identity} title="Training runs" aside={<RunsRefresh />}>
      <section className={`${ui.card} ${styles.section}`} aria-labelledby="start-heading">
        <h2 id="start-heading">Start a run</h2>
        <StartRunForm />
        <p className={styles.hint}>
          Trains on a snapshot of the current data (seed, imported and staff-labelled examples) in the worker process, then registers the
          result as a candidate. Production is not touched until you promote it.
        </p>
      </section>
      <section className={`${ui.card} ${styles.section}`} aria-labelledby="list-heading">
        <h2 id="list-heading">Runs</h2>
        <RunsTable runs={runs} />
      </section>
    </MlPage>
  );
}
