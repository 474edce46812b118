"use client";
import { useState, type FormEvent } from "react";
import { homeFor } from "@/lib/auth/paths";
import type { StaffIdentity } from "@/lib/auth/roles";
import styles from "./login.module.css";

export function LoginForm({ next }: { next: string | null }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const form = new FormData(event.currentTarget);
    const res = await fetch("/api/staff/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: form.get("email"), password: form.get("password") }),
    }).catch(() => null);
    const body = (await res?.json().catch(() => null)) as { staff?: StaffIdentity; error?: { message: string } } | null;
    if (res?.ok && body?.staff) {
      // A full page load, so every server component renders with the new session.
      window.location.assign(next ?? homeFor(body.staff.role));
      return;
    }
    setError(body?.error?.message ?? "Could not reach the server; try again.");
    setBusy(false);
  }

  return (
    <form className={styles.form} onSubmit={submit}>
      <label>
        Email
        <input name="email" type="email" autoComplete="username" required autoFocus />
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      {error && (
        <p className={styles.error} role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Logging in…" : "Log in"}
      </button>
    </form>
  );
}
