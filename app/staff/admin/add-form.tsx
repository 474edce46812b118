/** The "add one" form under an admin list, and the API's error under it. */
import type { FormEvent, ReactNode } from "react";
import styles from "./admin.module.css";

export function AddForm({
  heading,
  busy,
  error,
  onSubmit,
  children,
}: {
  heading: string;
  busy: boolean;
  error: string | null;
  onSubmit: (event: FormEvent<HTMLFormElement>) => void;
  children: ReactNode;
}) {
  return (
    <>
      <h3>{heading}</h3>
      <form className={styles.form} onSubmit={onSubmit}>
        {children}
        <button type="submit" disabled={busy}>
          Add
        </button>
      </form>
      {error && (
        <p className={styles.error} role="alert">
          {error}
        </p>
      )}
    </>
  );
}
