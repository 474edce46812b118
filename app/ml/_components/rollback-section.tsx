"use client";
/** The "Roll back" card of the model pages: production of a kind goes back to the version deployed before the
 * current one (recorded with the optional reason). */
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import ui from "@/app/_console/console.module.css";
import { callApi } from "@/app/_console/api";
import type { ModelKind } from "@/lib/protocol/ml";
import styles from "./ml.module.css";

export function RollbackSection({ kind, title, hint }: { kind: ModelKind; title: string; hint: string }) {
  const router = useRouter();
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const reason = String(new FormData(event.currentTarget).get("reason") ?? "").trim();
    if (!window.confirm("Roll production back to the previous version?")) return;
    setBusy(true);
    setResult(null);
    const res = await callApi<{ version: string }>("POST", "/api/ml/models/rollback", { kind, ...(reason ? { reason } : {}) });
    setBusy(false);
    if (res.ok) {
      setResult({ ok: true, text: `Rolled back: ${res.body.version} is production now.` });
      router.refresh();
    } else setResult({ ok: false, text: res.message });
  }

  return (
    <section className={`${ui.card} ${styles.section}`} aria-labelledby={`rollback-${kind}-heading`}>
      <h2 id={`rollback-${kind}-heading`}>{title}</h2>
      <form className={styles.form} onSubmit={submit} aria-label="Roll back">
      <label className={ui.field}>
        Reason (optional, recorded)
        <input name="reason" maxLength={500} size={40} />
      </label>
      <button type="submit" className={ui.btn} disabled={busy}>
        {busy ? "Rolling back…" : "Roll back"}
      </button>
      {result && (
        <p className={result.ok ? styles.okBox : styles.errorBox} role={result.ok ? "status" : "alert"}>
          {result.text}
        </p>
      )}
      </form>
      <p className={styles.hint}>{hint}</p>
    </section>
  );
}
