"use client";
/** The admin page's support hours: time zone, opening hours per weekday, holidays; saved whole. */
import { useState, type FormEvent } from "react";
import { useApi } from "@/app/_console/api";
import { WEEKDAYS, type OfficeHours, type OfficeHoursInput, type OfficeHoursView, type Weekday } from "@/lib/protocol/office-hours";
import styles from "./admin.module.css";

const DAY_LABELS: Record<Weekday, string> = { mon: "Monday", tue: "Tuesday", wed: "Wednesday", thu: "Thursday", fri: "Friday", sat: "Saturday", sun: "Sunday" };

export function OfficeHoursForm({ current }: { current: OfficeHoursView }) {
  const { send, error, busy } = useApi();
  const [days, setDays] = useState<OfficeHours["days"]>(current.hours.days);

  async function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const hours: OfficeHoursInput = {
      timeZone: String(data.get("timeZone")).trim(),
      days,
      holidays: String(data.get("holidays")).split(/[\s,]+/).filter(Boolean),
    };
    await send("PUT", "/api/staff/admin/office-hours", hours);
  }

  const setDay = (d: Weekday, value: OfficeHours["days"][Weekday]) => setDays((all) => ({ ...all, [d]: value }));

  return (
    <section aria-labelledby="hours-heading">
      <h2 id="hours-heading">Support hours</h2>
      <p data-testid="hours-summary">
        {current.configured ? current.description : "Not set: support counts as always open."} Now: {current.openNow ? "open" : "closed"}.
        {current.updatedBy && ` Last changed by ${current.updatedBy}.`}
      </p>
      <p>Outside these hours, or when no agent is online, a customer asking for a person is told so and asked for an email address.</p>
      <form onSubmit={save}>
        <label className={styles.inline}>
          Time zone <input name="timeZone" defaultValue={current.hours.timeZone} aria-label="Time zone" required />
        </label>
        <table className={styles.table}>
          <tbody>
            {WEEKDAYS.map((d) => {
              const o = days[d];
              return (
                <tr key={d}>
                  <th>
                    <label>
                      <input type="checkbox" checked={o !== null} aria-label={`Open on ${DAY_LABELS[d]}`} onChange={(e) => setDay(d, e.target.checked ? { open: "09:00", close: "17:00" } : null)} /> {DAY_LABELS[d]}
                    </label>
                  </th>
                  <td>
                    {o ? (
                      <span className={styles.inline}>
                        <input value={o.open} aria-label={`${DAY_LABELS[d]} opens`} pattern="\d\d:\d\d" onChange={(e) => setDay(d, { ...o, open: e.target.value })} />–
                        <input value={o.close} aria-label={`${DAY_LABELS[d]} closes`} pattern="\d\d:\d\d" onChange={(e) => setDay(d, { ...o, close: e.target.value })} />
                      </span>
                    ) : (
                      "closed"
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <h3>Holidays</h3>
        <textarea name="holidays" aria-label="Holidays" defaultValue={current.hours.holidays.join("\n")} placeholder="2026-12-25, one date (YYYY-MM-DD) per line" rows={3} />
        <div>
          <button type="submit" disabled={busy}>Save support hours</button>
        </div>
        {error && <p className={styles.error} role="alert">{error}</p>}
      </form>
    </section>
  );
}
