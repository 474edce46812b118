/** Whether support is open at an instant, and the hours in words; pure, unit-tested (time zones, DST, holidays). */
import { WEEKDAYS, type OfficeHours, type OfficeHoursView, type Weekday } from "./protocol/office-hours";

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock date, weekday and minute of the day at `at` in `timeZone`. */
export function localTime(at: Date, timeZone: string): { date: string; weekday: Weekday; minute: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  return {
    date: `${p.year}-${p.month}-${p.day}`,
    weekday: p.weekday!.toLowerCase() as Weekday,
    minute: Number(p.hour) * 60 + Number(p.minute),
  };
}

const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));

/**
 * Open at `at`: the weekday has hours, the date is not a holiday, and the wall-clock time in the time zone
 * is within them (opening minute included, closing minute not). Wall-clock time, so on a DST change
 * the hours move with the clock, as an office's do.
 */
export function isOpen(hours: OfficeHours, at: Date): boolean {
  const local = localTime(at, hours.timeZone);
  if (hours.holidays.includes(local.date)) return false;
  const day = hours.days[local.weekday];
  return day !== null && local.minute >= minutes(day.open) && local.minute < minutes(day.close);
}

const DAY_NAMES: Record<Weekday, string> = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" };

/** "Mon–Fri 08:00–20:00, Sat 10:00–14:00 (Europe/Berlin time)": runs of days with the same hours. */
export function describeHours(hours: OfficeHours): string {
  const span = (d: Weekday) => {
    const o = hours.days[d];
    if (!o) return null;
    return o.open === "00:00" && o.close === "24:00" ? "all day" : `${o.open}–${o.close}`;
  };
  const runs: { from: Weekday; to: Weekday; span: string }[] = [];
  for (const d of WEEKDAYS) {
    const s = span(d);
    if (s === null) continue;
    const last = runs.at(-1);
    if (last && last.span === s && WEEKDAYS.indexOf(last.to) === WEEKDAYS.indexOf(d) - 1) last.to = d;
    else runs.push({ from: d, to: d, span: s });
  }
  const days = runs.map((r) => `${DAY_NAMES[r.from]}${r.from === r.to ? "" : `–${DAY_NAMES[r.to]}`} ${r.span}`).join(", ");
  return `${days} (${hours.timeZone} time)`;
}

/** The stored setting as the admin page and its API show it. */
export function officeHoursView(
  s: { hours: OfficeHours; configured: boolean; updatedBy: string | null; updatedAt: Date | null },
  now = new Date(),
): OfficeHoursView {
  return { ...s, updatedAt: s.updatedAt?.toISOString() ?? null, description: describeHours(s.hours), openNow: isOpen(s.hours, now) };
}
