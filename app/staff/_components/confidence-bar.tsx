/** How sure the classifier was, as a small coloured bar (the inbox, the queue and the transcript). */
import { confidenceLevel } from "@/app/_console/format";
import styles from "@/app/_console/console.module.css";

export function ConfidenceBar({ p, className }: { p: number | null; className?: string }) {
  const level = confidenceLevel(p);
  return (
    <span className={`${styles.bar} ${className ?? ""}`} aria-hidden="true">
      <span className={`${styles.barFill} ${styles[`conf_${level}`]}`} style={{ width: `${Math.round((p ?? 0) * 100)}%` }} />
    </span>
  );
}
