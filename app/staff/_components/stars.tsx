/** A customer's 1–5 rating as stars ("–" when not rated). */
import styles from "@/app/_console/console.module.css";

export function Stars({ rating }: { rating: number | null }) {
  if (rating == null) return <span className={styles.muted}>–</span>;
  return (
    <span className={styles.stars} title={`Rated ${rating} of 5`} aria-label={`Rated ${rating} of 5`}>
      {"★".repeat(rating)}
      <span style={{ color: "#d8dce3" }}>{"★".repeat(Math.max(0, 5 - rating))}</span>
    </span>
  );
}
