"use client";
/**
 * Staff's verdict on a bot reply (good/bad), with how it was generated: model, time to first token, speed;
 * a reply marked Bad gets the "Write the right answer" box.
 */
import { useState } from "react";
import { tokensPerSecond, type ReplyFeedback, type StaffMessage } from "@/lib/protocol/staff";
import styles from "@/app/_console/console.module.css";
import { LmExampleControl } from "./lm-example-control";
import { postMessageUpdate } from "./message-update";

export function ReplyFeedbackControl({ message, onFeedback }: { message: StaffMessage; onFeedback?: (message: StaffMessage) => void }) {
  const [saved, setSaved] = useState<StaffMessage | null>(null);
  const [pending, setPending] = useState<ReplyFeedback | null>(null);
  const [error, setError] = useState<string | null>(null);
  const current = saved && saved.id === message.id ? { ...message, feedback: saved.feedback, feedbackBy: saved.feedbackBy } : message;
  const tps = tokensPerSecond(current);

  async function give(feedback: ReplyFeedback) {
    if (pending) return;
    setPending(feedback);
    setError(null);
    const r = await postMessageUpdate(`/api/staff/messages/${encodeURIComponent(message.id)}/feedback`, { feedback });
    setPending(null);
    if (!r.ok) {
      setError(r.message);
      return;
    }
    setSaved(r.message);
    onFeedback?.(r.message);
  }

  const streaming = current.replyStatus === "streaming";
  return (
    <div className={styles.replyMeta} data-message-id={message.id}>
      <span className={styles.metaItems}>
        {current.modelVersion && (
          <span title="Model version">
            <span className={styles.metaKey}>model</span> {current.modelVersion}
          </span>
        )}
        <span title="Time to first token">
          <span className={styles.metaKey}>TTFT</span> {current.timeToFirstTokenMs != null ? `${current.timeToFirstTokenMs} ms` : "–"}
        </span>
        <span title={current.tokenCount != null ? `${current.tokenCount} tokens in ${current.generationMs ?? "?"} ms` : undefined}>
          <span className={styles.metaKey}>speed</span> {tps != null ? `${tps.toFixed(1)} tok/s` : "–"}
        </span>
        {current.replyStatus && current.replyStatus !== "complete" && (
          <span className={`${styles.replyStatus} ${styles[`reply_${current.replyStatus}`]}`}>{current.replyStatus}</span>
        )}
      </span>
      {!streaming && (
        <span className={styles.feedback} role="group" aria-label="Reply feedback">
          <button
            type="button"
            className={`${styles.fbBtn} ${styles.fbGood} ${current.feedback === "good" ? styles.pressed : ""}`}
            aria-pressed={current.feedback === "good"}
            disabled={pending !== null}
            onClick={() => void give("good")}
            title={current.feedback === "good" && current.feedbackBy ? `Marked good by ${current.feedbackBy}` : "Mark this reply good"}
          >
            ✓ Good
          </button>
          <button
            type="button"
            className={`${styles.fbBtn} ${styles.fbBad} ${current.feedback === "bad" ? styles.pressed : ""}`}
            aria-pressed={current.feedback === "bad"}
            disabled={pending !== null}
            onClick={() => void give("bad")}
            title={current.feedback === "bad" && current.feedbackBy ? `Marked bad by ${current.feedbackBy}` : "Mark this reply bad"}
          >
            ✗ Bad
          </button>
          {error && <span className={styles.errorText}>{error}</span>}
        </span>
      )}
      {!streaming && current.feedback === "bad" && <LmExampleControl message={message} />}
    </div>
  );
}
