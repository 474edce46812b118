"use client";
/** Promote a candidate of either kind; when the gate refused it, only with the override ticked and a reason, which the server records. */
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import type { ModelKind } from "@/lib/protocol/ml";
import ui from "@/app/_console/console.module.css";
import { callApi } from "@/app/_console/api";
import styles from "../_components/ml.module.css";

export function PromoteForm({
  version,
  kind,
  gatePass,
  onPromoted,
}: {
  version: string;
  kind: ModelKind;
  /** The gate's verdict as the page shows it; the server runs the gate again on promotion. */
  gatePass: boolean;
  onPromoted?: (version: string) => void;
}) {
  const router = useRouter();
  const [override, setOverride] = useState(false);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const needsOverride = !gatePass;
  const ready = !needsOverride || (override && reason.trim().length > 0);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const body = { kind, ...(needsOverride ? { force: true, reason: reason.trim() } : reason.trim() ? { reason: reason.trim() } : {}) };
    const res = await callApi<{ version: string }>("POST", `/api/ml/models/${encodeURIComponent(version)}/promote`, body);
    setBusy(false);
    if (res.ok) {
      onPromoted?.(res.body.version);
      router.refresh();
    } else setError(res.message);
  }

  return (
    <form className={`${styles.form} ${styles.promote}`} onSubmit={submit} aria-label="Promote">
      {needsOverride && (
        <>
          <label className={ui.check}>
            <input type="checkbox" checked={override} onChange={(e) => setOverride(e.target.checked)} />
            Override the gate
          </label>
          <label className={ui.field}>
            Reason for the override (recorded in the audit log)
            <textarea name="reason" rows={2} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} disabled={!override} />
          </label>
        </>
      )}
      <button type="submit" className={`${ui.btn} ${ui.btnPrimary}`} disabled={busy || !ready}>
        {busy ? (kind === "lm" ? "Gating and promoting (minutes)…" : "Promoting…") : needsOverride ? "Promote anyway" : "Promote to production"}
      </button>
      {needsOverride && !ready && <p className={styles.hint}>The gate refused this candidate: tick the override and give a reason to promote it anyway.</p>}
      {error && (
        <p className={styles.errorBox} role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
