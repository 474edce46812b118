/** A list table in a card that scrolls sideways on narrow screens, with a note under it when the list is empty. */
import type { ReactNode } from "react";
import styles from "./console.module.css";

export function TableCard({ label, empty, children }: { label: string; empty: string | null; children: ReactNode }) {
  return (
    <div className={`${styles.card} ${styles.tableWrap}`}>
      <table className={styles.table} aria-label={label}>
        {children}
      </table>
      {empty && <div className={styles.empty}>{empty}</div>}
    </div>
  );
}
