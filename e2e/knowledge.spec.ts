/**
 * The knowledge-base editor in the browser: an admin creates an article, saves a new version of it,
 * sees both versions in the history and what the new one changed.
 *
 * The admin is created by e2e/serve.ts.
 */
import { randomUUID } from "node:crypto";
import { expect, test } from "@playwright/test";
import { E2E_STAFF, logIn } from "./staff";

const run = randomUUID().slice(0, 8);
const title = `Gift wrapping ${run}`;

test("an admin edits an article and sees the new version in the history", async ({ page }) => {
  await page.goto("/staff/knowledge");
  await logIn(page, E2E_STAFF.admin);
  await expect(page.getByRole("heading", { name: "Knowledge base" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Staff" }).getByRole("link", { name: "Knowledge" })).toHaveAttribute("aria-current", "page");

  await page.getByRole("link", { name: "New article" }).click();
  await page.getByLabel("Title").fill(title);
  await page.getByLabel("Intent").selectOption("product_question");
  // Markup typed by staff stays text.
  await page.getByLabel("Text").fill("Gift wrapping costs $4 per order. <b>Choose it at checkout.</b>");
  await page.getByRole("button", { name: "Create article" }).click();
  await expect(page).toHaveURL(new RegExp(`/staff/knowledge/gift-wrapping-${run}$`));
  await expect(page.getByTestId("article-version")).toContainText("version 1");

  await page.getByLabel("Text").fill("Gift wrapping costs $5 per order. <b>Choose it at checkout.</b>");
  await page.getByRole("button", { name: "Save new version" }).click();
  await expect(page.getByRole("status")).toHaveText("Saved as version 2.");
  await expect(page.getByTestId("article-version")).toContainText("version 2");

  const history = page.getByTestId("history");
  await expect(history.locator("tbody tr")).toHaveCount(2);
  await expect(history.locator("tbody tr").first()).toContainText(E2E_STAFF.admin.email);
  await history.getByRole("link", { name: "View changes" }).click();
  const diff = page.getByTestId("diff");
  await expect(diff.locator("del")).toHaveText(["4"]);
  await expect(diff.locator("ins")).toHaveText(["5"]);
  await expect(diff.locator("b")).toHaveCount(0);

  await page.getByRole("link", { name: "← Knowledge base" }).click();
  await expect(page.getByTestId("article-row").filter({ hasText: title })).toContainText("product_question");
  await expect(page.getByTestId("article-row").filter({ hasText: title })).toContainText("Live");
});
