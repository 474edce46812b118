import { describe, expect, it } from "vitest";
import { signFollowUpLink, verifyFollowUpLink } from "@/lib/follow-up-link";
import { describeHours, isOpen, localTime } from "@/lib/office-hours";
import { emailAddressSchema } from "@/lib/protocol/chat";
import { ALWAYS_OPEN, officeHoursSchema, type OfficeHoursInput } from "@/lib/protocol/office-hours";

const weekdays = { open: "08:00", close: "20:00" };
const berlin = officeHoursSchema.parse({
  timeZone: "Europe/Berlin",
  days: { mon: weekdays, tue: weekdays, wed: weekdays, thu: weekdays, fri: weekdays, sat: { open: "10:00", close: "14:00" }, sun: null },
  holidays: ["2026-12-25", "2026-12-24"],
} satisfies OfficeHoursInput);

const at = (iso: string) => new Date(iso);

describe("isOpen", () => {
  it.each([
    // 2026-11-30 is a Monday; Berlin is UTC+1 in winter.
    ["2026-11-30T06:59:59Z", false, "07:59 local: before opening"],
    ["2026-11-30T07:00:00Z", true, "08:00 local: the opening minute counts"],
    ["2026-11-30T18:59:00Z", true, "19:59 local"],
    ["2026-11-30T19:00:00Z", false, "20:00 local: the closing minute does not"],
    ["2026-12-05T09:30:00Z", true, "Saturday 10:30 local"],
    ["2026-12-05T13:00:00Z", false, "Saturday 14:00 local"],
    ["2026-12-06T10:00:00Z", false, "Sunday: closed all day"],
    ["2026-12-24T10:00:00Z", false, "a Thursday that is a holiday"],
    ["2026-12-23T23:30:00Z", false, "still the 24th's eve in UTC, but 00:30 on the holiday in Berlin"],
    ["2026-12-25T23:30:00Z", false, "Saturday 00:30 local, after the holiday, before Saturday's hours"],
  ])("%s → %s (%s)", (when, open) => {
    expect(isOpen(berlin, at(when))).toBe(open);
  });

  it("follows the wall clock across daylight saving changes", () => {
    // Summer (UTC+2): 08:00 local is 06:00 UTC. 2026-03-30 is the Monday after the change on the 29th.
    expect(isOpen(berlin, at("2026-03-30T06:00:00Z"))).toBe(true);
    expect(isOpen(berlin, at("2026-03-30T05:59:00Z"))).toBe(false);
    expect(isOpen(berlin, at("2026-03-27T06:00:00Z"))).toBe(false); // the Friday before: still UTC+1, 07:00 local
    // The night of the spring change: 02:00 → 03:00 local. Hours 01:00–04:00 on that Sunday are 3 wall-clock hours, 2 real ones.
    const night = officeHoursSchema.parse({ ...berlin, days: { ...berlin.days, sun: { open: "01:00", close: "04:00" } } });
    expect(isOpen(night, at("2026-03-29T00:00:00Z"))).toBe(true); // 01:00 CET
    expect(isOpen(night, at("2026-03-29T01:30:00Z"))).toBe(true); // 03:30 CEST
    expect(isOpen(night, at("2026-03-29T02:00:00Z"))).toBe(false); // 04:00 CEST
    // Autumn: 2026-10-25 02:00–03:00 local happens twice; both count as within hours.
    const autumn = officeHoursSchema.parse({ ...berlin, days: { ...berlin.days, sun: { open: "02:00", close: "03:00" } } });
    expect(isOpen(autumn, at("2026-10-25T00:30:00Z"))).toBe(true); // 02:30 CEST
    expect(isOpen(autumn, at("2026-10-25T01:30:00Z"))).toBe(true); // 02:30 CET
    expect(isOpen(autumn, at("2026-10-25T02:00:00Z"))).toBe(false); // 03:00 CET
  });

  it("takes the weekday and holidays in the office's time zone, not UTC", () => {
    const tokyo = officeHoursSchema.parse({ timeZone: "Asia/Tokyo", days: { ...ALWAYS_OPEN.days, sat: null, sun: null }, holidays: ["2026-12-01"] });
    // Monday 2026-11-30 20:00 UTC is Tuesday 2026-12-01 05:00 in Tokyo: a holiday there.
    expect(localTime(at("2026-11-30T20:00:00Z"), "Asia/Tokyo")).toEqual({ date: "2026-12-01", weekday: "tue", minute: 300 });
    expect(isOpen(tokyo, at("2026-11-30T20:00:00Z"))).toBe(false);
    // Friday 2026-12-04 16:00 UTC is Saturday 01:00 in Tokyo: closed.
    expect(isOpen(tokyo, at("2026-12-04T16:00:00Z"))).toBe(false);
    expect(isOpen(tokyo, at("2026-12-04T14:00:00Z"))).toBe(true); // Friday 23:00 there
  });

  it("is always open without a setting", () => {
    expect(isOpen(ALWAYS_OPEN, at("2026-12-25T03:00:00Z"))).toBe(true);
    expect(describeHours(ALWAYS_OPEN)).toBe("Mon–Sun all day (UTC time)");
  });
});

describe("describeHours", () => {
  it("groups runs of days with the same hours", () => {
    expect(describeHours(berlin)).toBe("Mon–Fri 08:00–20:00, Sat 10:00–14:00 (Europe/Berlin time)");
  });
});

describe("officeHoursSchema", () => {
  const closed = { mon: null, tue: null, wed: null, thu: null, fri: null, sat: null, sun: null };
  const refusal = (input: unknown) => {
    const r = officeHoursSchema.safeParse(input);
    return r.success ? null : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };

  it("refuses hours that never open", () => {
    expect(refusal({ timeZone: "UTC", days: closed, holidays: [] })).toEqual(["days: these office hours never open: give at least one day opening hours"]);
  });

  it.each([
    [{ timeZone: "Mars/Olympus", days: { ...closed, mon: weekdays }, holidays: [] }, "timeZone: an IANA time zone such as Europe/Berlin"],
    [{ timeZone: "UTC", days: { ...closed, mon: { open: "20:00", close: "08:00" } }, holidays: [] }, "days.mon.close: must close after it opens"],
    [{ timeZone: "UTC", days: { ...closed, mon: { open: "8:00", close: "24:00" } }, holidays: [] }, "days.mon.open: a time HH:MM (00:00 to 24:00)"],
    [{ timeZone: "UTC", days: { ...closed, mon: { open: "08:00", close: "24:01" } }, holidays: [] }, "days.mon.close: a time HH:MM (00:00 to 24:00)"],
    [{ timeZone: "UTC", days: { ...closed, mon: weekdays }, holidays: ["2026-02-30"] }, "holidays.0: not a calendar date"],
    [{ timeZone: "UTC", days: { ...closed, mon: weekdays }, holidays: ["25.12.2026"] }, "holidays.0: a date YYYY-MM-DD"],
  ])("refuses %j", (input, message) => {
    expect(refusal(input)).toContain(message);
  });

  it("keeps holidays sorted and once each", () => {
    expect(berlin.holidays).toEqual(["2026-12-24", "2026-12-25"]);
  });
});

describe("emailAddressSchema", () => {
  it.each([
    ["ana@example.com", "ana@example.com"],
    ["  Ana.Lopez+orders@Example.COM ", "Ana.Lopez+orders@example.com"],
  ])("accepts %j", (input, stored) => {
    expect(emailAddressSchema.parse(input)).toBe(stored);
  });

  it.each([
    "ana@example.com\r\nBcc: victim@example.org",
    "ana@example.com\nBcc: victim@example.org",
    "ana@example.com%0d%0aBcc:victim@example.org",
    "ana@example.com\u0000",
    "Ana <ana@example.com>",
    "ana@example.com, eve@example.org",
    "not an email",
    "ana@",
    "@example.com",
    `${"a".repeat(250)}@example.com`,
    "",
  ])("refuses %j", (input) => {
    expect(emailAddressSchema.safeParse(input).success).toBe(false);
  });
});

describe("follow-up links", () => {
  const secret = "s".repeat(32);
  const ids = { conversationId: "00000000-0000-4000-a000-000000000001", customerId: "00000000-0000-4000-a000-000000000002" };
  const now = at("2026-11-30T12:00:00Z");
  const link = signFollowUpLink({ ...ids, expiresAt: at("2026-12-14T12:00:00Z") }, secret);

  it("opens its conversation until it expires", () => {
    expect(verifyFollowUpLink(link, [secret], now)).toEqual({ ok: true, ...ids });
    expect(verifyFollowUpLink(link, [secret], at("2026-12-14T12:00:00Z"))).toEqual({ ok: false, reason: "expired" });
  });

  it("refuses a forged or altered link", () => {
    const [payload, mac] = link.split(".");
    const other = Buffer.from(JSON.stringify({ c: ids.conversationId, u: "00000000-0000-4000-a000-000000000009", e: 2e9 })).toString("base64url");
    for (const forged of [`${other}.${mac}`, `${payload}.${mac!.slice(0, -2)}xx`, payload!, `${link}.x`, "", signFollowUpLink({ ...ids, expiresAt: at("2027-01-01T00:00:00Z") }, "t".repeat(32))]) {
      expect(verifyFollowUpLink(forged, [secret], now)).toEqual({ ok: false, reason: "invalid" });
    }
  });

  it("accepts links signed with a previous secret", () => {
    expect(verifyFollowUpLink(link, ["n".repeat(32), secret], now)).toMatchObject({ ok: true });
  });
});
