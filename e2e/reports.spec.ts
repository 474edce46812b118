/**
 * Outcome reports end to end: a customer chats, an admin opens the reports page, sees the figures and
 * the charts (per day, then per week) and downloads the CSV; a bad range is explained, not an error page.
 *
 * The admin is created by e2e/serve.ts. Other specs chat on this server too, so the figures are
 * compared with what the API answers for the same range.
 */
import { readFile } from "node:fs/promises";
import { expect, test } from "@playwright/test";
import type { OutcomeReport } from "../lib/protocol/reports";
import { E2E_STAFF, logIn } from "./staff";

test("an admin reads the outcome report and downloads it as CSV", async ({ browser }) => {
  const customer = await (await browser.newContext()).newPage();
  await customer.goto("/");
  await expect(customer.getByText("Support is online")).toBeVisible();
  await customer.getByLabel("Message").fill("how long does delivery take?");
  await customer.getByRole("button", { name: "Send" }).click();
  await expect(customer.locator('li[data-role="bot"]').first()).toHaveAttribute("data-status", "complete");
  await customer.context().close();

  const admin = await (await browser.newContext({ acceptDownloads: true })).newPage();
  await admin.goto("/staff/login?next=/staff/reports");
  await logIn(admin, E2E_STAFF.admin);
  await expect(admin.getByRole("heading", { name: "Outcome reports" })).toBeVisible();
  const from = await admin.getByLabel("From", { exact: true }).inputValue();
  const to = await admin.getByLabel("To", { exact: true }).inputValue();
  const report = async (granularity: string) =>
    (await (await admin.request.get(`/api/staff/admin/reports?from=${from}&to=${to}&granularity=${granularity}`)).json()) as OutcomeReport;

  const daily = await report("day");
  expect(daily.total.conversations).toBeGreaterThanOrEqual(1);
  expect(daily.periods).toHaveLength(14);
  const total = admin.getByTestId("report-total");
  await expect(total.getByText("Conversations", { exact: true }).locator("xpath=following-sibling::dd")).toHaveText(String(daily.total.conversations));
  for (const chart of ["outcomes-chart", "rates-chart", "human-reply-chart"]) {
    await expect(admin.getByTestId(chart)).toHaveAttribute("data-points", "14");
    await expect(admin.getByTestId(chart).locator("canvas")).toBeVisible();
  }
  // Today's row: the customer's conversation is in it.
  const today = admin.getByRole("table", { name: "Per day" }).getByRole("row").filter({ hasText: to });
  await expect(today.getByRole("cell").nth(1)).toHaveText(String(daily.periods.at(-1)!.conversations));
  await expect(admin.getByRole("table", { name: "Per model version" }).getByRole("row").filter({ hasText: to }).first()).toBeVisible();

  await admin.getByRole("navigation", { name: "Granularity" }).getByRole("link", { name: "Per week" }).click();
  await expect(admin.getByRole("link", { name: "Per week" })).toHaveAttribute("aria-current", "true");
  const weekly = await report("week");
  await expect(admin.getByTestId("outcomes-chart")).toHaveAttribute("data-points", String(weekly.periods.length));
  await expect(admin.getByRole("table", { name: "Per week" }).getByRole("row")).toHaveCount(weekly.periods.length + 1);

  const [download] = await Promise.all([admin.waitForEvent("download"), admin.getByRole("link", { name: "Download CSV" }).click()]);
  expect(download.suggestedFilename()).toBe(`loopdesk-outcomes-${from}-${to}-week.csv`);
  const lines = (await readFile((await download.path())!, "utf8")).trimEnd().split("\r\n");
  expect(lines[0]).toMatch(/^period,lm_version,classifier_version,conversations,/);
  expect(lines.at(-1)).toMatch(new RegExp(`^\\(all\\),\\(all\\),\\(all\\),${weekly.total.conversations},`));

  await admin.goto("/staff/reports?from=2026-02-30&to=2026-03-01");
  await expect(admin.getByRole("main").getByRole("alert")).toHaveText("Showing the last two weeks instead: from: must be a calendar date as YYYY-MM-DD");
  await expect(admin.getByTestId("outcomes-chart")).toHaveAttribute("data-points", "14");
});

test("a support agent cannot open the reports", async ({ page }) => {
  await page.goto("/staff/reports");
  await logIn(page, E2E_STAFF.agent);
  await expect(page.getByTestId("access-denied")).toContainText("/staff/reports");
  expect((await page.request.get("/api/staff/admin/reports?from=2026-01-01&to=2026-01-02")).status()).toBe(403);
});
