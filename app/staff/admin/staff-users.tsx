"use client";
/** The admin page's staff accounts: roles, enabling and disabling, password resets and adding. */
import type { FormEvent } from "react";
import { STAFF_ROLES, type StaffRole } from "@/lib/auth/roles";
import { useApi } from "@/app/_console/api";
import { AddForm } from "./add-form";
import styles from "./admin.module.css";

interface StaffRow {
  id: string;
  email: string;
  name: string;
  role: StaffRole;
  disabled: boolean;
  locked: boolean;
}

export function StaffUsers({ users, selfId }: { users: StaffRow[]; selfId: string }) {
  const { send, error, busy } = useApi();

  async function add(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = Object.fromEntries(new FormData(form));
    if (await send("POST", "/api/staff/admin/users", data)) form.reset();
  }

  async function resetPassword(event: FormEvent<HTMLFormElement>, id: string) {
    event.preventDefault();
    const form = event.currentTarget;
    if (await send("PATCH", `/api/staff/admin/users/${id}`, { password: new FormData(form).get("password") })) form.reset();
  }

  const patch = (id: string, body: object) => send("PATCH", `/api/staff/admin/users/${id}`, body);

  return (
    <section aria-labelledby="staff-heading">
      <h2 id="staff-heading">Staff</h2>
      <table className={styles.table}>
        <thead>
          <tr>
            <th>Name</th>
            <th>Email</th>
            <th>Role</th>
            <th>Status</th>
            <th>Password</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id} data-testid={`staff-row-${u.email}`}>
              <td>{u.name}</td>
              <td>{u.email}</td>
              <td>
                <select aria-label={`Role of ${u.email}`} value={u.role} disabled={busy || u.id === selfId} onChange={(e) => patch(u.id, { role: e.target.value })}>
                  {STAFF_ROLES.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </td>
              <td>
                {u.disabled ? "disabled" : u.locked ? "locked" : "active"}{" "}
                {u.id !== selfId && (
                  <button type="button" className="link" disabled={busy} onClick={() => patch(u.id, { disabled: !u.disabled })}>
                    {u.disabled ? "Enable" : "Disable"}
                  </button>
                )}
              </td>
              <td>
                <form className={styles.inline} onSubmit={(e) => resetPassword(e, u.id)}>
                  <input name="password" type="password" placeholder="New password" aria-label={`New password for ${u.email}`} autoComplete="new-password" minLength={10} required />
                  <button type="submit" className="link" disabled={busy}>
                    Reset
                  </button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <AddForm heading="Add a staff member" busy={busy} error={error} onSubmit={add}>
        <input name="name" placeholder="Name" aria-label="Name" required />
        <input name="email" type="email" placeholder="Email" aria-label="Email" required />
        <select name="role" aria-label="Role" defaultValue="agent">
          {STAFF_ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
        <input name="password" type="password" placeholder="Password (10+ characters)" aria-label="Password" autoComplete="new-password" minLength={10} required />
      </AddForm>
    </section>
  );
}
