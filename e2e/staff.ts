/** The staff accounts e2e/serve.ts creates in the e2e database (with the CLI, as in production), and logging in as one. */
import type { Page } from "@playwright/test";

export const E2E_STAFF = {
  agent: { email: "e2e-agent@example.com", name: "Alex", role: "agent", password: "e2e agent password" },
  admin: { email: "e2e-admin@example.com", name: "Ed Admin", role: "admin", password: "e2e admin password" },
  ml: { email: "e2e-ml@example.com", name: "Mia ML", role: "ml", password: "e2e ml password" },
} as const;

/** Fills in the login form the page is showing and submits it. */
export async function logIn(page: Page, who: { email: string; password: string }) {
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Log in" }).click();
}
