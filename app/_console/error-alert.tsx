/** An API error shown above what it concerns; nothing when there is none. */
import styles from "./console.module.css";

export function ErrorAlert({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p className={styles.errorText} role="alert">
      {error}
    </p>
  );
}
