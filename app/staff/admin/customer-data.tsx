"use client";
/** The admin page's access-request download: a customer's stored data as a JSON file (audited by the API). */
import { useState, type FormEvent } from "react";
import styles from "./admin.module.css";

export function CustomerData() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function download(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const customer = String(new FormData(event.currentTarget).get("customer") ?? "").trim();
    setBusy(true);
    setError(null);
    const res = await fetch(`/api/staff/admin/customer-data?customer=${encodeURIComponent(customer)}`, { cache: "no-store" }).catch(() => null);
    setBusy(false);
    if (!res?.ok) {
      const payload = (await res?.json().catch(() => null)) as { error?: { message?: string } } | null;
      setError(payload?.error?.message ?? (res ? `The server answered ${res.status}.` : "Could not reach the server; try again."));
      return;
    }
    const url = URL.createObjectURL(await res.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = `customer-${customer}.json`;
    link.click();
    URL.revokeObjectURL(url);
  }

  return (
    <section aria-labelledby="customer-data-heading">
      <h2 id="customer-data-heading">A customer&apos;s data</h2>
      <p>Everything stored about one customer (conversations, messages, ratings, feedback) as JSON, for an access request. Private notes are staff-only and not included. Each download is audited.</p>
      <form className={styles.form} onSubmit={download}>
        <input name="customer" placeholder="Customer id" aria-label="Customer id" size={40} required />
        <button type="submit" disabled={busy}>
          Download data
        </button>
      </form>
      {error && (
        <p className={styles.error} role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
