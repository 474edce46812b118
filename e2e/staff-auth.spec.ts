/**
 * Staff log in through the form, an admin adds an agent in the console, and the agent is kept out
 * of the admin pages.
 */
import { randomUUID } from "node:crypto";
import { expect, test } from "@playwright/test";
import { E2E_STAFF } from "./staff";

const run = randomUUID().slice(0, 8);
const admin = E2E_STAFF.admin;
const agent = { name: "Ada Agent", email: `agent-${run}@example.com`, password: "e2e agent password" };

test("an admin adds an agent, who cannot open the admin console", async ({ page }) => {
  await page.goto("/staff/admin");
  await expect(page).toHaveURL(/\/staff\/login\?next=%2Fstaff%2Fadmin$/);
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Administration" })).toBeVisible();
  await expect(page.getByTestId("staff-identity")).toHaveText("Ed Admin · admin");

  const addForm = page.getByRole("region", { name: "Staff" });
  await addForm.getByLabel("Name", { exact: true }).fill(agent.name);
  await addForm.getByLabel("Email", { exact: true }).fill(agent.email);
  await addForm.getByLabel("Role", { exact: true }).selectOption("agent");
  await addForm.getByLabel("Password", { exact: true }).fill(agent.password);
  await addForm.getByRole("button", { name: "Add" }).click();
  await expect(page.getByTestId(`staff-row-${agent.email}`)).toContainText("active");

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/staff\/login$/);

  await page.getByLabel("Email").fill(agent.email);
  await page.getByLabel("Password").fill(agent.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/staff$/);

  await page.goto("/staff/admin");
  await expect(page.getByTestId("access-denied")).toContainText("403");
  await expect(page.getByRole("heading", { name: "Administration" })).toHaveCount(0);
  expect((await page.request.get("/api/staff/admin/users")).status()).toBe(403);
});
