"use client";
/** Start a fine-tuning run of the classifier or the language model on a snapshot of the current data; the page of the new run opens. */
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { DEVICES, LM_ONLY_PARAMS, MODEL_KINDS, type ModelKind, type RunView, type StartRunRequest, type TrainParams } from "@/lib/protocol/ml";
import ui from "@/app/_console/console.module.css";
import { callApi } from "@/app/_console/api";
import styles from "../_components/ml.module.css";

/**
 * The settings a run may set. A field left empty is left out of the request, so the trainer's own default
 * applies (training/train.py's and training/train_lm.py's argparse defaults are the one place they are
 * written); the run records the values used. The API validates whatever is sent (startRunSchema).
 */
const PARAMS: { name: keyof TrainParams; label: string; step: string; min: number }[] = [
  { name: "epochs", label: "Epochs", step: "1", min: 1 },
  { name: "batchSize", label: "Batch size", step: "1", min: 1 },
  { name: "lr", label: "Learning rate", step: "any", min: 0 },
  { name: "maxLen", label: "Max length (tokens)", step: "1", min: 8 },
  { name: "seed", label: "Seed", step: "1", min: 0 },
  { name: "maxSteps", label: "Max steps", step: "1", min: 1 },
];
const KIND_LABELS: Record<ModelKind, string> = { classifier: "Intent classifier", lm: "Language model (replies)" };

export function StartRunForm() {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [kind, setKind] = useState<ModelKind>("classifier");
  const shown = PARAMS.filter((p) => kind === "lm" || !(LM_ONLY_PARAMS as readonly string[]).includes(p.name));

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const params: TrainParams = {};
    for (const p of shown) {
      const raw = String(form.get(p.name) ?? "").trim();
      if (raw !== "") params[p.name] = Number(raw);
    }
    const request: StartRunRequest = { kind, device: form.get("device") as StartRunRequest["device"], params };
    setBusy(true);
    setError(null);
    const res = await callApi<{ run: RunView }>("POST", "/api/ml/runs", request);
    if (res.ok) {
      router.push(`/ml/runs/${res.body.run.id}`);
      return;
    }
    setBusy(false);
    setError(res.message);
  }

  return (
    <form className={styles.form} onSubmit={submit} aria-label="Start a run">
      <label className={ui.field}>
        Model
        <select name="kind" value={kind} onChange={(e) => setKind(e.target.value as ModelKind)}>
          {MODEL_KINDS.map((k) => (
            <option key={k} value={k}>
              {KIND_LABELS[k]}
            </option>
          ))}
        </select>
      </label>
      <label className={ui.field}>
        Device
        <select name="device" defaultValue="auto">
          {DEVICES.map((d) => (
            <option key={d} value={d}>
              {d === "auto" ? "auto (CUDA if present)" : d}
            </option>
          ))}
        </select>
      </label>
      {shown.map((p) => (
        <label key={p.name} className={ui.field}>
          {p.label}
          <input name={p.name} type="number" step={p.step} min={p.min} placeholder="trainer default" />
        </label>
      ))}
      <button type="submit" className={`${ui.btn} ${ui.btnPrimary}`} disabled={busy}>
        {busy ? "Starting…" : "Start run"}
      </button>
      {error && (
        <p className={styles.errorBox} role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
