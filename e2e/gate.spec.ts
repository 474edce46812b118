/** The ML console shows a candidate the promotion gate refuses, with its reasons, and will not promote it without an override and a reason. */
import { expect, test } from "@playwright/test";
import { REFUSED } from "../tests/helpers/gate-candidates";
import { E2E_STAFF, logIn } from "./staff";

test("a candidate whose macro-F1 drops is shown as refused, with the reason, and cannot be promoted by a plain click", async ({ page }) => {
  await page.goto(`/ml/models/${REFUSED.rotated}`);
  await logIn(page, E2E_STAFF.ml);

  const verdict = page.getByTestId("gate-verdict");
  await expect(verdict).toBeVisible({ timeout: 2 * 60_000 });
  await expect(verdict).toHaveAttribute("data-pass", "false");
  await expect(verdict).toContainText("✗ The gate refuses this candidate:");
  await expect(verdict.getByRole("listitem").first()).toContainText(/^macro-F1 drops \d+\.\d points/);

  const promote = page.getByRole("button", { name: "Promote anyway" });
  await expect(promote).toBeDisabled();
  await page.getByLabel("Override the gate").check();
  // Overriding needs a reason, which is recorded.
  await expect(promote).toBeDisabled();
  await page.getByLabel("Override the gate").uncheck();
  await expect(promote).toBeDisabled();
  expect((await (await page.request.get("/api/ml/models")).json()).items.find((m: { version: string }) => m.version === REFUSED.rotated).production).toBe(false);
});
