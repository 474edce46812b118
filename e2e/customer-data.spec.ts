/**
 * An access request on the admin page: the admin enters a customer's id and downloads everything
 * stored about them as JSON; an unknown id is a clear message, not a download.
 *
 * The admin is created by e2e/serve.ts.
 */
import { readFile } from "node:fs/promises";
import { expect, test } from "@playwright/test";
import type { CustomerDataExport } from "../lib/protocol/staff";
import { E2E_STAFF, logIn } from "./staff";

test("an admin downloads a customer's data from the admin page", async ({ browser }) => {
  const customer = await (await browser.newContext()).newPage();
  await customer.goto("/");
  await expect(customer.getByText("Support is online")).toBeVisible();
  await customer.getByLabel("Message").fill("do you ship to Ireland?");
  await customer.getByRole("button", { name: "Send" }).click();
  await expect.poll(() => customer.evaluate(() => localStorage.getItem("loopdesk.conversationId"))).not.toBeNull();
  const conversationId = (await customer.evaluate(() => localStorage.getItem("loopdesk.conversationId")))!;

  const admin = await (await browser.newContext({ acceptDownloads: true })).newPage();
  await admin.goto("/staff/login?next=/staff/admin");
  await logIn(admin, E2E_STAFF.admin);
  await expect(admin.getByRole("heading", { name: "Administration" })).toBeVisible();
  // The id staff see on the transcript page.
  await admin.goto(`/staff/conversations/${conversationId}`);
  const customerId = (await admin.locator("dd[title]").first().getAttribute("title"))!;
  expect(customerId).toMatch(/^[0-9a-f-]{36}$/);
  await admin.goto("/staff/admin");

  const form = admin.getByRole("region", { name: "A customer's data" });
  await form.getByLabel("Customer id").fill("00000000-0000-4000-8000-000000000000");
  await form.getByRole("button", { name: "Download data" }).click();
  await expect(form.getByRole("alert")).toHaveText("No such customer.");

  await form.getByLabel("Customer id").fill(customerId);
  const [download] = await Promise.all([admin.waitForEvent("download"), form.getByRole("button", { name: "Download data" }).click()]);
  expect(download.suggestedFilename()).toBe(`customer-${customerId}.json`);
  const data = JSON.parse(await readFile((await download.path())!, "utf8")) as CustomerDataExport;
  expect(data.customer.id).toBe(customerId);
  expect(data.conversations[0]!.messages[0]).toMatchObject({ role: "customer", text: "do you ship to Ireland?" });
  await expect(form.getByRole("alert")).toHaveCount(0);
});
