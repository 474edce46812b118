/**
 * Assignment and presence with two agents in two browsers and a customer in a third: the agent sets
 * themself online in the header and the customer's handoff is assigned to them; both agents open the
 * conversation and see each other viewing and typing; only the assignee has the composer, the other
 * takes over explicitly; assigning to an agent who is away is refused; the chat is reassigned back.
 *
 * The agent (Alex) and the admin (Ed Admin) are created by e2e/serve.ts. Both are set away again at
 * the end, so other specs' handoffs wait in the queue as they expect.
 */
import { expect, request, test, type Browser, type Page } from "@playwright/test";
import { E2E_STAFF, logIn } from "./staff";

const { agent, admin } = E2E_STAFF;

async function newPage(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

async function staffLoggedIn(browser: Browser, who: { email: string; password: string }): Promise<Page> {
  const page = await newPage(browser);
  await page.goto("/staff/login?next=/staff");
  await logIn(page, who);
  await expect(page).toHaveURL(/\/staff$/);
  return page;
}

async function setAvailability(page: Page, availability: "online" | "away") {
  await page.getByLabel("Your availability").selectOption(availability);
  await expect(page.locator(`[data-availability="${availability}"]`)).toBeVisible();
}

async function openConversation(page: Page, conversationId: string) {
  await page.goto(`/staff/conversations/${conversationId}`);
  await expect(page.locator(".live-conn-on")).toBeVisible();
}

/** Picks an agent in the reassign list (loaded when it gets focus) and assigns. */
async function assignTo(page: Page, name: string) {
  const select = page.getByLabel("Assign to");
  await select.focus();
  const option = select.locator("option", { hasText: name });
  await expect(option).toHaveCount(1);
  await select.selectOption((await option.getAttribute("value"))!);
  await page.getByRole("button", { name: "Assign", exact: true }).click();
}

test.afterAll(async ({ baseURL }) => {
  for (const who of [agent, admin]) {
    const api = await request.newContext({ baseURL, extraHTTPHeaders: { origin: baseURL! } });
    expect((await api.post("/api/staff/auth/login", { data: { email: who.email, password: who.password } })).ok()).toBe(true);
    expect((await api.put("/api/staff/availability", { data: { availability: "away" } })).ok()).toBe(true);
    await api.dispose();
  }
});

test("two agents: automatic assignment, who is viewing and typing, explicit take-over and reassignment", async ({ browser }) => {
  const alex = await staffLoggedIn(browser, agent);
  const ed = await staffLoggedIn(browser, admin);
  await expect(ed.locator('[data-availability="away"]')).toBeVisible();
  await setAvailability(alex, "online");

  // The customer asks for a person: Alex, the only one online, gets the chat at once.
  const customer = await newPage(browser);
  await customer.goto("/");
  await expect(customer.getByText("Support is online")).toBeVisible();
  await customer.getByLabel("Message").fill("I want to talk to a real person");
  await customer.getByRole("button", { name: "Send" }).click();
  await expect(customer.getByText("Alex joined the chat")).toBeVisible();
  const conversationId = (await customer.evaluate(() => localStorage.getItem("loopdesk.conversationId")))!;

  await openConversation(alex, conversationId);
  await openConversation(ed, conversationId);
  await expect(alex.getByTestId("live-assignee")).toHaveText("You are chatting with the customer");
  await expect(ed.getByTestId("live-assignee")).toHaveText("Alex is chatting with the customer");
  await expect(alex.getByTestId("live-viewers")).toHaveText("Also viewing: Ed Admin");
  await expect(ed.getByTestId("live-viewers")).toHaveText("Also viewing: Alex");

  // Only the assignee has the composer; the other sees them typing, and vice versa (a private note).
  await expect(ed.getByLabel("Message to the customer")).toHaveCount(0);
  await alex.getByLabel("Message to the customer").fill("Hello, I'm Alex");
  await expect(ed.getByTestId("staff-typing")).toContainText("Alex is typing…");
  await ed.getByLabel("Private note").fill("Looks like a refund case");
  await expect(alex.getByTestId("staff-typing")).toContainText("Ed Admin is typing…");

  // Ed takes over explicitly: the composer moves to him, and the customer is told.
  await ed.getByRole("button", { name: "Take over from Alex" }).click();
  await expect(ed.getByTestId("live-assignee")).toHaveText("You are chatting with the customer");
  await expect(alex.getByTestId("live-assignee")).toHaveText("Ed Admin is chatting with the customer");
  await expect(alex.getByLabel("Message to the customer")).toHaveCount(0);
  await expect(customer.getByText("Ed Admin joined the chat")).toBeVisible();

  // Alex may not reassign what he no longer holds; Ed is the assignee. Assigning to an away agent is refused.
  await expect(alex.getByLabel("Assign to")).toHaveCount(0);
  await setAvailability(alex, "away");
  await assignTo(ed, "Alex");
  await expect(ed.getByTestId("live-error")).toHaveText("That agent is away or not in the console: only online agents can be assigned chats.");
  await expect(ed.getByTestId("live-assignee")).toHaveText("You are chatting with the customer");

  // Once Alex is online again, Ed gives the chat back to him.
  await setAvailability(alex, "online");
  await assignTo(ed, "Alex");
  await expect(ed.getByTestId("live-assignee")).toHaveText("Alex is chatting with the customer");
  await expect(alex.getByTestId("live-assignee")).toHaveText("You are chatting with the customer");
  await expect(alex.getByLabel("Message to the customer")).toBeVisible();

  // Ed leaves: Alex sees nobody else viewing.
  await ed.close();
  await expect(alex.getByTestId("live-viewers")).toHaveText("Nobody else is viewing");
});
