/**
 * Support hours as the admin page edits them and the server stores them: a time zone, opening hours per
 * weekday, and holidays (dates in that time zone). Validated here at every boundary (API, database).
 */
import { z } from "zod";

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const time = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, "a time HH:MM (00:00 to 24:00)");
const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));

const opening = z
  .object({ open: time, close: time })
  .refine((o) => minutes(o.close) > minutes(o.open), { message: "must close after it opens", path: ["close"] });

const isTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "a date YYYY-MM-DD")
  .refine((d) => {
    const t = new Date(`${d}T00:00:00Z`);
    return !/^\d{4}-\d{2}-\d{2}$/.test(d) || (!Number.isNaN(t.getTime()) && t.toISOString().startsWith(d));
  }, "not a calendar date");

export const officeHoursSchema = z
  .object({
    timeZone: z.string().min(1).max(64).refine(isTimeZone, "an IANA time zone such as Europe/Berlin"),
    /** Each weekday's opening hours in the time zone, or null when closed all day. */
    days: z.object(Object.fromEntries(WEEKDAYS.map((d) => [d, opening.nullable()])) as Record<Weekday, z.ZodNullable<typeof opening>>),
    /** Whole days closed, in the time zone. */
    holidays: z.array(isoDate).max(366).transform((ds) => [...new Set(ds)].sort()),
  })
  .refine((h) => WEEKDAYS.some((d) => h.days[d] !== null), {
    message: "these office hours never open: give at least one day opening hours",
    path: ["days"],
  });

export type OfficeHours = z.infer<typeof officeHoursSchema>;
export type OfficeHoursInput = z.input<typeof officeHoursSchema>;

/** Without a stored setting support is always open: no one is told it is closed until an admin says when. */
export const ALWAYS_OPEN: OfficeHours = {
  timeZone: "UTC",
  days: Object.fromEntries(WEEKDAYS.map((d) => [d, { open: "00:00", close: "24:00" }])) as OfficeHours["days"],
  holidays: [],
};

/** What `GET /api/staff/admin/office-hours` answers (and `PUT` with the saved hours). */
export interface OfficeHoursView {
  hours: OfficeHours;
  /** False while nothing is stored (the hours are ALWAYS_OPEN). */
  configured: boolean;
  updatedBy: string | null;
  updatedAt: string | null;
  /** The hours as the customer is told them. */
  description: string;
  openNow: boolean;
}

/** An email the server wrote to the outbox because no SMTP server is configured. */
export interface OutboxEmailView {
  id: string;
  to: string;
  subject: string;
  text: string;
  conversationId: string | null;
  createdAt: string;
}
