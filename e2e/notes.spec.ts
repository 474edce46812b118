/**
 * Private notes in two staff browsers and the customer's: an agent writes a note under the live
 * transcript, an admin watching the same conversation sees it appear (set apart from the messages),
 * the customer's chat never shows it, and the inbox search finds the conversation by the note's words.
 *
 * The agent and the admin are created by e2e/serve.ts.
 */
import { expect, test, type Browser, type Page } from "@playwright/test";
import { E2E_STAFF, logIn } from "./staff";

const WORD = `wombat${Date.now().toString(36).replace(/\d/g, "")}`;
const NOTE = `Refund approved by the team lead (${WORD}).`;

async function newPage(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

async function staffOn(browser: Browser, who: { email: string; password: string }, conversationId: string): Promise<Page> {
  const page = await newPage(browser);
  await page.goto(`/staff/login?next=/staff/conversations/${conversationId}`);
  await logIn(page, who);
  await expect(page).toHaveURL(new RegExp(`/staff/conversations/${conversationId}$`));
  await expect(page.locator(".live-conn-on")).toBeVisible();
  return page;
}

test("a private note reaches the other staff live, never the customer, and is found by the inbox search", async ({ browser }) => {
  const customer = await newPage(browser);
  await customer.goto("/");
  await expect(customer.getByText("Support is online")).toBeVisible();
  await customer.getByLabel("Message").fill("where is my order NW-123456?");
  await customer.getByRole("button", { name: "Send" }).click();
  await expect.poll(() => customer.evaluate(() => localStorage.getItem("loopdesk.conversationId"))).not.toBeNull();
  const conversationId = (await customer.evaluate(() => localStorage.getItem("loopdesk.conversationId")))!;
  await expect(customer.locator('li[data-role="bot"]').first()).toBeVisible();

  const agent = await staffOn(browser, E2E_STAFF.agent, conversationId);
  const admin = await staffOn(browser, E2E_STAFF.admin, conversationId);

  await agent.getByLabel("Private note").fill(NOTE);
  await agent.getByRole("button", { name: "Add note" }).click();
  await expect(agent.getByLabel("Private note")).toHaveValue("");
  for (const page of [agent, admin]) {
    const note = page.locator('li[data-role="note"]');
    await expect(note.locator(".live-text")).toHaveText([NOTE]);
    await expect(note.locator(".live-author")).toHaveText("Private note · Alex");
    await expect(note).toHaveClass(/live-msg-private/);
  }

  // The customer's page, and a reload of it (chat:history), have no trace of it.
  await expect(customer.getByText(WORD)).toHaveCount(0);
  await customer.reload();
  await expect(customer.locator('li[data-role="customer"]').first()).toBeVisible();
  await expect(customer.getByText(WORD)).toHaveCount(0);

  await admin.goto(`/staff?q=${WORD}`);
  await expect(admin.locator(`tr[data-conversation-id="${conversationId}"]`)).toBeVisible();
});
