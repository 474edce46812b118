/** A conversation's status as a coloured badge (inbox rows and the conversation header). */
import { STATUS_LABELS, type ConversationSummary } from "@/lib/protocol/staff";
import styles from "@/app/_console/console.module.css";

export function StatusBadge({ status }: { status: ConversationSummary["status"] }) {
  return <span className={`${styles.badge} ${styles[`status_${status}`]}`}>{STATUS_LABELS[status]}</span>;
}
