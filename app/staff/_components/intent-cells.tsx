/** A conversation row's "Top intent" and "Lowest confidence" cells (the inbox and the waiting queue). */
import type { ConversationSummary } from "@/lib/protocol/staff";
import { confidenceLevel, percent } from "@/app/_console/format";
import styles from "@/app/_console/console.module.css";
import { ConfidenceBar } from "./confidence-bar";

export function IntentCells({ conversation: c }: { conversation: Pick<ConversationSummary, "lastIntent" | "minIntentProbability"> }) {
  return (
    <>
      <td>{c.lastIntent ? <span className={styles.tag}>{c.lastIntent}</span> : <span className={styles.muted}>–</span>}</td>
      <td>
        <span className={styles.confCell}>
          <ConfidenceBar p={c.minIntentProbability} />
          <span className={`${styles.num} ${styles[`text_${confidenceLevel(c.minIntentProbability)}`]}`}>{percent(c.minIntentProbability)}</span>
        </span>
      </td>
    </>
  );
}
