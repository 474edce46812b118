/**
 * Shadow before promotion in the ML console: a candidate put in shadow with its button classifies a
 * customer's live message beside production, the disagreement shows in the queue with the live
 * agreement, a label given there takes it off the queue, and Stop shadowing ends it.
 */
import { expect, test } from "@playwright/test";
import { REFUSED } from "../tests/helpers/gate-candidates";
import { E2E_STAFF, logIn } from "./staff";

test("an ML user shadows a candidate, labels a live disagreement and stops the shadow", async ({ page, browser }) => {
  await page.goto("/ml/models");
  await logIn(page, E2E_STAFF.ml);
  const section = page.getByTestId("shadow-section");
  await expect(section).toContainText("Nothing is in shadow.");

  // The rotated candidate names every prediction as the next intent: it disagrees on every message.
  await page.getByTestId(`model-row-${REFUSED.rotated}`).getByRole("button", { name: "Shadow" }).click();
  await expect(section).toContainText(`${REFUSED.rotated} in shadow since`);
  await expect(page.getByTestId(`model-row-${REFUSED.rotated}`)).toContainText("in shadow");
  // Every server loads it within seconds.
  await expect.poll(async () => (await (await page.request.get("/api/health")).json()).models.shadow.version, { timeout: 30_000 }).toBe(REFUSED.rotated);

  const customer = await browser.newPage();
  const text = "Hello! How long does express shipping take?";
  await customer.goto("/");
  await customer.getByLabel("Message").fill(text);
  await customer.getByRole("button", { name: "Send" }).click();
  await expect(customer.locator('li[data-role="bot"]').first()).toHaveAttribute("data-status", "complete", { timeout: 60_000 });
  await customer.close();

  const row = page.getByTestId("shadow-queue").getByRole("row").filter({ hasText: text });
  await expect(async () => {
    await page.reload();
    await expect(row).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await expect(page.getByTestId("shadow-agreement")).toHaveText("0.0%");
  await expect(page.getByTestId("shadow-disagreeing")).toBeVisible();

  // The label defaults to production's intent; the label is stored and the message leaves the queue.
  await row.getByRole("button", { name: "Label" }).click();
  await expect(row).toHaveCount(0);
  await expect(section).toContainText("Staff labelled 1 disagreement(s): the shadow was right on 0, production on 1.");

  await section.getByRole("button", { name: "Stop shadowing" }).click();
  await expect(section).toContainText("Nothing is in shadow.");
  await expect.poll(async () => (await (await page.request.get("/api/health")).json()).models.shadow.version, { timeout: 30_000 }).toBeNull();
});
