"use client";
/**
 * The support agent's availability in the staff console header: online agents are assigned new chats
 * automatically (and take the waiting queue when they come online), away ones are not. Stored per
 * staff member (GET/PUT /api/staff/availability), so it holds across tabs, devices and logins.
 */
import { useEffect, useState } from "react";
import { AVAILABILITIES, type Availability, type AvailabilityBody } from "@/lib/protocol/staff";

const LABELS: Record<Availability, string> = { online: "Online", away: "Away" };

export function AvailabilityToggle() {
  const [availability, setAvailability] = useState<Availability | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void fetch("/api/staff/availability", { credentials: "same-origin", cache: "no-store" })
      .then((res) => (res.ok ? (res.json() as Promise<AvailabilityBody>) : null))
      .then((body) => body && setAvailability(body.availability))
      .catch(() => setError("Availability unknown"));
  }, []);

  async function change(next: Availability) {
    setError(null);
    const res = await fetch("/api/staff/availability", {
      method: "PUT",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ availability: next } satisfies AvailabilityBody),
    }).catch(() => null);
    if (!res?.ok) return setError("Could not change your availability; try again.");
    setAvailability(((await res.json()) as AvailabilityBody).availability);
  }

  return (
    <label style={{ display: "inline-flex", gap: 6, alignItems: "center", fontSize: 14 }} data-availability={availability ?? ""}>
      <span aria-hidden style={{ width: 8, height: 8, borderRadius: 4, background: availability === "online" ? "#16a34a" : "#9ca3af" }} />
      <select
        aria-label="Your availability"
        data-testid="availability"
        value={availability ?? ""}
        disabled={availability === null}
        onChange={(e) => void change(e.target.value as Availability)}
      >
        {availability === null && <option value="">…</option>}
        {AVAILABILITIES.map((a) => (
          <option key={a} value={a}>
            {LABELS[a]}
          </option>
        ))}
      </select>
      {error && (
        <span role="alert" className="note">
          {error}
        </span>
      )}
    </label>
  );
}
