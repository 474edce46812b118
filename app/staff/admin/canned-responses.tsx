"use client";
/** The admin page's canned responses: the list, editing in place, deleting and adding. */
import { useState, type FormEvent } from "react";
import { useApi } from "@/app/_console/api";
import { AddForm } from "./add-form";
import styles from "./admin.module.css";

interface Canned {
  id: string;
  title: string;
  body: string;
}

export function CannedResponses({ items }: { items: Canned[] }) {
  const { send, error, busy } = useApi();
  const [editing, setEditing] = useState<string | null>(null);

  async function save(event: FormEvent<HTMLFormElement>, id?: string) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = Object.fromEntries(new FormData(form));
    const ok = id ? await send("PATCH", `/api/staff/admin/canned-responses/${id}`, data) : await send("POST", "/api/staff/admin/canned-responses", data);
    if (!ok) return;
    if (id) setEditing(null);
    else form.reset();
  }

  const fields = (c?: Canned) => (
    <>
      <input name="title" placeholder="Title" aria-label="Title" defaultValue={c?.title} maxLength={200} required />
      <textarea name="body" placeholder="Text agents insert" aria-label="Text" defaultValue={c?.body} maxLength={5000} rows={3} required />
    </>
  );

  return (
    <section aria-labelledby="canned-heading">
      <h2 id="canned-heading">Canned responses</h2>
      <ul className={styles.canned}>
        {items.map((c) =>
          editing === c.id ? (
            <li key={c.id}>
              <form className={styles.form} onSubmit={(e) => save(e, c.id)}>
                {fields(c)}
                <button type="submit" disabled={busy}>
                  Save
                </button>
                <button type="button" className="link" onClick={() => setEditing(null)}>
                  Cancel
                </button>
              </form>
            </li>
          ) : (
            <li key={c.id}>
              <strong>{c.title}</strong>
              <p>{c.body}</p>
              <button type="button" className="link" onClick={() => setEditing(c.id)}>
                Edit
              </button>{" "}
              <button type="button" className="link" disabled={busy} onClick={() => send("DELETE", `/api/staff/admin/canned-responses/${c.id}`)}>
                Delete
              </button>
            </li>
          ),
        )}
      </ul>
      <AddForm heading="Add a canned response" busy={busy} error={error} onSubmit={(e) => save(e)}>
        {fields()}
      </AddForm>
    </section>
  );
}
