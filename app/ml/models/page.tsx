/** /ml/models: every classifier version with its metrics, production marked; the shadow; rollback; the audit log. */
import type { Metadata } from "next";
import Link from "next/link";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { auditLog, listModels } from "@/lib/db/ml-console";
import { Ago } from "@/app/_console/time";
import ui from "@/app/_console/console.module.css";
import { MlPage } from "../_components/ml-page";
import { RunsRefresh } from "../_components/ml-live";
import { percent } from "@/app/_console/format";
import styles from "../_components/ml.module.css";
import { RollbackSection } from "../_components/rollback-section";
import { VersionTag } from "../_components/version-tag";
import { shadowView } from "@/lib/training/shadow";
import { ShadowButton, ShadowSection } from "./shadow-section";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Models · ML · Loopdesk" };

/** Audit details are free-form JSON; one short line of it is enough in a table. */
function detailsText(details: unknown): string {
  if (details == null) return "";
  const text = JSON.stringify(details);
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}

export default async function MlModelsPage() {
  const identity = await requireStaffPage(AREA_ROLES.ml, "/ml/models");
  const [models, audit, { shadow }] = await Promise.all([listModels(), auditLog(), shadowView()]);
  return (
    <MlPage identity={identity} title="Model versions" aside={<RunsRefresh />}>
      <section className={`${ui.card} ${styles.section}`} aria-labelledby="versions-heading">
        <h2 id="versions-heading">Versions</h2>
        <div className={ui.tableWrap}>
          <table className={`${ui.table} ${styles.rows}`} data-testid="models-table">
            <thead>
              <tr>
                <th>Version</th>
                <th>Status</th>
                <th>Registered</th>
                <th>Accuracy</th>
                <th>Macro-F1</th>
                <th>Device</th>
                <th>Run</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {models.map((m) => (
                <tr key={m.version} data-testid={`model-row-${m.version}`}>
                  <td>
                    <VersionTag version={m.version} production={m.production} />
                  </td>
                  <td>{m.status === "ready" ? "ready" : <span className={ui.errorText}>failed: {m.failureReason}</span>}</td>
                  <td className={ui.nowrap}>
                    <Ago iso={m.createdAt} />
                  </td>
                  <td className={ui.num}>{percent(m.accuracy, 1)}</td>
                  <td className={ui.num}>{percent(m.macroF1, 1)}</td>
                  <td>{m.device ?? "–"}</td>
                  <td>
                    {m.trainingRunId ? (
                      <Link href={`/ml/runs/${m.trainingRunId}`} className={styles.link}>
                        {m.trainingRunId.slice(0, 8)}
                      </Link>
                    ) : (
                      "–"
                    )}
                  </td>
                  <td className={ui.nowrap}>
                    {!m.production && m.status === "ready" && (
                      <>
                        {m.version === shadow?.version ? <span className={ui.tag}>in shadow</span> : <ShadowButton version={m.version} />}{" "}
                        <Link href={`/ml/models/${encodeURIComponent(m.version)}`} className={styles.link}>
                          Compare &amp; promote →
                        </Link>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <ShadowSection shadow={shadow} />

      <RollbackSection
        kind="classifier"
        title="Roll back"
        hint="Every server switches to the previous production version within seconds; chats in flight finish on the model they started with."
      />

      <section className={`${ui.card} ${styles.section}`} aria-labelledby="audit-heading">
        <h2 id="audit-heading">Audit log</h2>
        {audit.length === 0 ? (
          <p className={ui.muted}>Nothing recorded yet.</p>
        ) : (
          <div className={ui.tableWrap}>
            <table className={`${ui.table} ${styles.rows}`} data-testid="audit-table">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Who</th>
                  <th>What</th>
                  <th>Subject</th>
                  <th>Details</th>
                </tr>
              </thead>
              <tbody>
                {audit.map((a) => (
                  <tr key={a.id}>
                    <td className={ui.nowrap}>
                      <Ago iso={a.createdAt} />
                    </td>
                    <td>{a.actor}</td>
                    <td>
                      <span className={styles.code}>{a.action}</span>
                    </td>
                    <td>{a.subject}</td>
                    <td className={ui.preview}>{detailsText(a.details)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </MlPage>
  );
}
