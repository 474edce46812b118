/** /ml/lm: every language-model version with its trainer and reply-benchmark figures, production marked; rollback. */
import type { Metadata } from "next";
import Link from "next/link";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { listLmModels } from "@/lib/db/ml-console";
import type { ReplyBenchFigures } from "@/lib/protocol/ml";
import { Ago } from "@/app/_console/time";
import ui from "@/app/_console/console.module.css";
import { percent } from "@/app/_console/format";
import { MlPage } from "../_components/ml-page";
import { RunsRefresh } from "../_components/ml-live";
import styles from "../_components/ml.module.css";
import { RollbackSection } from "../_components/rollback-section";
import { VersionTag } from "../_components/version-tag";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Language model · ML · Loopdesk" };

const perplexity = (x: number | null | undefined) => (x == null ? "–" : x.toFixed(2));

/** The benchmark columns of one side of a gate run. */
function BenchCells({ bench }: { bench: ReplyBenchFigures | undefined }) {
  if (!bench) return <td colSpan={6} className={ui.muted}>gate not run</td>;
  return (
    <>
      <td className={ui.num}>{percent(bench.pass, 1)}</td>
      <td className={ui.num}>{percent(bench.facts, 1)}</td>
      <td className={ui.num}>{bench.contradictions}</td>
      <td className={ui.num}>{bench.invented}</td>
      <td className={ui.num}>{bench.repetitive}</td>
      <td className={ui.num}>{bench.abstained}</td>
    </>
  );
}

export default async function MlLmPage() {
  const identity = await requireStaffPage(AREA_ROLES.ml, "/ml/lm");
  const models = await listLmModels();
  // The production model's own figures: from the newest gate run that measured it.
  const production = models.find((m) => m.production);
  const productionBench = models.map((m) => m.gate?.verdict).find((v) => v?.production.version === production?.version)?.production;
  return (
    <MlPage identity={identity} title="Language model versions" aside={<RunsRefresh />}>
      <section className={`${ui.card} ${styles.section}`} aria-labelledby="lm-versions-heading">
        <h2 id="lm-versions-heading">Versions</h2>
        <p className={styles.hint}>
          Benchmark figures are from each candidate&apos;s newest gate run (the reply benchmark&apos;s questions through the serving path);
          perplexity is on the candidate&apos;s snapshot holdout, computed from the served int8 model. Start an LM run on the Runs page.
        </p>
        <div className={ui.tableWrap}>
          <table className={`${ui.table} ${styles.rows}`} data-testid="lm-models-table">
            <thead>
              <tr>
                <th>Version</th>
                <th>Registered</th>
                <th>Pass</th>
                <th>Facts</th>
                <th>Contradictions</th>
                <th>Invented</th>
                <th>Repetitive</th>
                <th>Abstained</th>
                <th>Perplexity</th>
                <th>Trainer perplexity (base)</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {models.map((m) => {
                const side = m.production && !m.gate ? productionBench : m.gate?.verdict.candidate;
                return (
                  <tr key={m.version} data-testid={`lm-row-${m.version}`}>
                    <td>
                      <VersionTag version={m.version} production={m.production} />
                      {m.status === "failed" && <span className={ui.errorText}> failed: {m.failureReason}</span>}
                    </td>
                    <td className={ui.nowrap}>
                      <Ago iso={m.createdAt} />
                    </td>
                    <BenchCells bench={side?.bench} />
                    <td className={ui.num}>{perplexity(side?.holdoutPerplexity)}</td>
                    <td className={ui.num}>
                      {m.trainer ? `${perplexity(m.trainer.holdoutPerplexity)} (${perplexity(m.trainer.baseHoldoutPerplexity)})` : "stock model"}
                    </td>
                    <td>
                      {m.trainingRunId && (
                        <Link href={`/ml/lm/${encodeURIComponent(m.version)}`} className={styles.link}>
                          Side by side{m.production ? "" : " & promote"} →
                        </Link>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>

      <RollbackSection
        kind="lm"
        title="Roll back the language model"
        hint="Every server switches to the previous language model within seconds; replies being written finish on the model they started with."
      />
    </MlPage>
  );
}
