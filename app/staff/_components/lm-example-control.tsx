"use client";
/**
 * Turns a transcript message into language-model training data: under a bot reply marked Bad, a
 * "Write the right answer" box; under an agent's own reply, "Use for training". A saved example can be
 * edited or removed. The server validates every answer and says what is wrong (lib/dataset/lm-labelling.ts).
 */
import { useState, type FormEvent } from "react";
import { callApi } from "@/app/_console/api";
import type { LmExampleResponse, StaffLmExample, StaffMessage } from "@/lib/protocol/staff";
import styles from "@/app/_console/console.module.css";

export function LmExampleControl({ message }: { message: Pick<StaffMessage, "id" | "role" | "lmExample"> }) {
  const [example, setExample] = useState<StaffLmExample | null>(message.lmExample);
  const correcting = message.role === "bot";
  const [editing, setEditing] = useState(correcting && !message.lmExample);
  const [draft, setDraft] = useState(message.lmExample?.answer ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function call(method: "POST" | "PATCH" | "DELETE", url: string, body?: unknown): Promise<StaffLmExample | null | false> {
    setBusy(true);
    setError(null);
    const r = await callApi<LmExampleResponse | null>(method, url, body);
    setBusy(false);
    if (!r.ok) {
      setError(r.status === 401 ? "Your session has ended — sign in again." : r.message);
      return false;
    }
    return r.body?.example ?? null;
  }

  async function save(e?: FormEvent) {
    e?.preventDefault();
    const body = correcting || editing ? { answer: draft } : {};
    const saved = example
      ? await call("PATCH", `/api/staff/lm-examples/${encodeURIComponent(example.id)}`, body)
      : await call("POST", `/api/staff/messages/${encodeURIComponent(message.id)}/lm-example`, body);
    if (saved) {
      setExample(saved);
      setDraft(saved.answer);
      setEditing(false);
    }
  }

  async function remove() {
    if (!example) return;
    if ((await call("DELETE", `/api/staff/lm-examples/${encodeURIComponent(example.id)}`)) === false) return;
    setExample(null);
    setDraft("");
    setEditing(correcting);
  }

  return (
    <div className="lm-example" data-testid="lm-example" data-saved={example ? "true" : "false"}>
      {editing ? (
        <form onSubmit={(e) => void save(e)} aria-label={correcting ? "Write the right answer" : "Training answer"}>
          <label className={styles.field}>
            <span>{correcting ? "Write the right answer" : "Training answer"}</span>
            <textarea
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              rows={3}
              maxLength={2000}
              placeholder="What the bot should have said, from the help-centre facts above"
              data-testid="lm-answer"
            />
          </label>
          <button type="submit" className={styles.btn} disabled={busy || draft.trim() === ""} data-testid="lm-save">
            Save for training
          </button>
          {example && (
            <button type="button" className={styles.btn} disabled={busy} onClick={() => setEditing(false)}>
              Cancel
            </button>
          )}
        </form>
      ) : example ? (
        <div>
          <span className={styles.muted}>
            {example.origin === "staff_correction" ? "Right answer" : "Used for training"} (by {example.approvedBy}):
          </span>{" "}
          <span data-testid="lm-saved-answer">{example.answer}</span>{" "}
          <button type="button" className={styles.btn} disabled={busy} onClick={() => setEditing(true)}>
            Edit
          </button>
          <button type="button" className={styles.btn} disabled={busy} onClick={() => void remove()} data-testid="lm-remove">
            Remove
          </button>
        </div>
      ) : (
        <button type="button" className={styles.btn} disabled={busy} onClick={() => void save()} data-testid="lm-use">
          Use for training
        </button>
      )}
      {error && (
        <span className={styles.errorText} role="alert" data-testid="lm-error">
          {error}
        </span>
      )}
    </div>
  );
}
