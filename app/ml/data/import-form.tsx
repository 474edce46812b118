"use client";
/**
 * Import a CSV or JSONL file of labelled examples: the raw file goes to the API, which validates it
 * like the CLI does and imports all of it or nothing; the report is shown either way.
 */
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import type { ImportReport } from "@/lib/dataset/import";
import ui from "@/app/_console/console.module.css";
import { callApi } from "@/app/_console/api";
import styles from "../_components/ml.module.css";

type Outcome = { ok: boolean; message: string | null; report: ImportReport | null };

export function ImportForm() {
  const router = useRouter();
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const file = new FormData(event.currentTarget).get("file");
    if (!(file instanceof File) || file.size === 0) {
      setOutcome({ ok: false, message: "Choose a non-empty .csv or .jsonl file.", report: null });
      return;
    }
    setBusy(true);
    setOutcome(null);
    const res = await callApi<{ report: ImportReport }>("POST", `/api/ml/data/import?filename=${encodeURIComponent(file.name)}`, file);
    setBusy(false);
    if (res.ok) {
      setOutcome({ ok: true, message: null, report: res.body.report });
      router.refresh();
    } else {
      const report = (res.body as { report?: ImportReport } | null)?.report ?? null;
      setOutcome({ ok: false, message: res.message, report });
    }
  }

  return (
    <>
      <form className={styles.form} onSubmit={submit}>
        <label className={ui.field}>
          File (.csv with text,label columns, or .jsonl)
          <input name="file" type="file" accept=".csv,.jsonl,.ndjson,text/csv,application/x-ndjson" required />
        </label>
        <button type="submit" className={`${ui.btn} ${ui.btnPrimary}`} disabled={busy}>
          {busy ? "Importing…" : "Import"}
        </button>
      </form>
      {outcome && <ImportResult outcome={outcome} />}
    </>
  );
}

function ImportResult({ outcome }: { outcome: Outcome }) {
  const { ok, message, report } = outcome;
  return (
    <div className={`${styles.report} ${ok ? styles.reportOk : styles.reportFailed}`} role="status" data-testid="import-report">
      <p>
        <strong>{ok ? "Imported." : "Nothing was imported."}</strong> {message}
      </p>
      {report && (
        <p>
          {report.inserted} inserted · {report.skippedExisting} already present · {report.duplicates} duplicate rows in the file
        </p>
      )}
      {report && report.errors.length > 0 && <Problems title="Errors" problems={report.errors} />}
      {report && report.warnings.length > 0 && <Problems title="Warnings" problems={report.warnings} />}
    </div>
  );
}

function Problems({ title, problems }: { title: string; problems: ImportReport["errors"] }) {
  return (
    <>
      <p>{title}:</p>
      <ul>
        {problems.map((p, i) => (
          <li key={i}>
            {p.line > 0 ? `line ${p.line}` : "file"} <span className={styles.code}>{p.code}</span> {p.message}
          </li>
        ))}
      </ul>
    </>
  );
}
