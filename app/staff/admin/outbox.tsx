/** The admin page's outbox: emails written instead of sent while no SMTP server is configured. */
import type { OutboxEmailView } from "@/lib/protocol/office-hours";
import styles from "./admin.module.css";

export function Outbox({ emails, smtp }: { emails: OutboxEmailView[]; smtp: boolean }) {
  return (
    <section aria-labelledby="outbox-heading">
      <h2 id="outbox-heading">Email outbox</h2>
      <p>
        {smtp
          ? "Follow-up emails are sent over SMTP (SMTP_URL); emails written before it was set are listed here."
          : "SMTP_URL is not set: follow-up emails are not sent but kept here, newest first. Forward them by hand or set SMTP_URL."}
      </p>
      {emails.length === 0 ? (
        <p>No emails.</p>
      ) : (
        <ul className={styles.canned} data-testid="outbox">
          {emails.map((e) => (
            <li key={e.id}>
              <strong>To {e.to}</strong>: {e.subject} <small>({new Date(e.createdAt).toLocaleString()})</small>
              <p>{e.text}</p>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
