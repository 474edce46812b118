/**
 * Office hours and offline follow-up in the browser: an admin sets support hours on the admin page (one that
 * never opens is refused), a customer asking for a person outside them is told so and leaves an email
 * address, an agent replies in the staff console, the email lands in the outbox on the admin page (the e2e
 * server has no SMTP_URL), and its link opens the conversation, where the customer's reply reopens it.
 *
 * The agent and the admin are created by e2e/serve.ts.
 */
import { expect, test, type Browser, type Page } from "@playwright/test";
import { E2E_STAFF, logIn } from "./staff";

const EMAIL = `ana-${Date.now().toString(36)}@example.com`;

async function newPage(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

test("outside office hours a customer leaves an email, gets the agent's reply there, and comes back by its link", async ({ browser }) => {
  const admin = await newPage(browser);
  await admin.goto("/staff/login?next=/staff/admin");
  await logIn(admin, E2E_STAFF.admin);
  await expect(admin).toHaveURL(/\/staff\/admin$/);
  const hours = admin.getByRole("region", { name: "Support hours" });

  // Hours that never open are refused, and nothing changes. Boxes unticked before the page has
  // hydrated can come back ticked (seen on a busy CI machine: Monday was saved open), so the unticking
  // is retried until every box stays unticked.
  const days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
  await admin.waitForLoadState("networkidle");
  await expect(async () => {
    for (const d of days) await hours.getByLabel(`Open on ${d}`).uncheck();
    for (const d of days) await expect(hours.getByLabel(`Open on ${d}`)).not.toBeChecked({ timeout: 1000 });
  }).toPass();
  await hours.getByRole("button", { name: "Save support hours" }).click();
  await expect(hours.getByRole("alert")).toHaveText("days: these office hours never open: give at least one day opening hours");
  await admin.reload();
  await expect(hours.getByTestId("hours-summary")).toContainText("Not set: support counts as always open.");
  await admin.waitForLoadState("networkidle");

  // Open every day, but today (in UTC, and the days either side) is a holiday: closed now.
  await hours.getByLabel("Time zone").fill("UTC");
  await hours.getByLabel("Holidays").fill([day(-1), day(0), day(1)].join("\n"));
  await hours.getByRole("button", { name: "Save support hours" }).click();
  await expect(hours.getByTestId("hours-summary")).toContainText("Mon–Sun all day (UTC time) Now: closed.");

  // The customer asks for a person: told honestly, and offered the email form.
  const customer = await newPage(browser);
  await customer.goto("/");
  await expect(customer.getByText("Support is online")).toBeVisible();
  await customer.getByLabel("Message").fill("I want to talk to a real person");
  await customer.getByRole("button", { name: "Send" }).click();
  const handoff = customer.locator('li[data-role="bot"]');
  await expect(handoff.locator(".text")).toContainText("Our support team is not available right now: our hours are Mon–Sun all day (UTC time).");
  await expect(customer.getByTestId("waiting")).toBeVisible();
  await handoff.getByLabel("Your email address").fill(EMAIL);
  await handoff.getByRole("button", { name: "Email me the reply" }).click();
  await expect(handoff.getByTestId("email-left")).toHaveText(`We'll email ${EMAIL} when our team replies.`);
  await expect(customer.locator('li[data-role="system"]')).toContainText(EMAIL);
  const conversationId = (await customer.evaluate(() => localStorage.getItem("loopdesk.conversationId")))!;
  await customer.context().close();

  // The agent takes it over later and replies in the staff console.
  const agent = await newPage(browser);
  await agent.goto(`/staff/login?next=/staff/conversations/${conversationId}`);
  await logIn(agent, E2E_STAFF.agent);
  const live = agent.getByTestId("live-conversation");
  await expect(agent.locator(".live-conn-on")).toBeVisible();
  await live.getByRole("button", { name: "Take over" }).click();
  await expect(live).toHaveAttribute("data-status", "agent");
  await live.getByRole("textbox", { name: "Message to the customer" }).fill("Your refund was approved today.");
  await live.getByRole("button", { name: "Send" }).click();
  await expect(live.locator('li[data-role="agent"] .live-text')).toHaveText(["Your refund was approved today."]);
  await live.getByRole("button", { name: "Close" }).click();
  await expect(live).toHaveAttribute("data-status", "closed");

  // Without SMTP_URL the email is in the outbox on the admin page, with its link.
  await admin.reload();
  const mail = admin.getByTestId("outbox").locator("li", { hasText: EMAIL });
  await expect(mail).toContainText("Your refund was approved today.");
  const link = /https?:\/\/\S+\/follow-up\/\S+/.exec((await mail.textContent()) ?? "")![0];

  // The link opens the conversation in a browser that has never seen it; the customer's reply reopens it.
  const back = await newPage(browser);
  await back.goto(new URL(link).pathname);
  await expect(back).toHaveURL(/\/$/);
  await expect(back.locator('li[data-role="agent"]')).toHaveText(["Your refund was approved today."]);
  await expect(back.getByText("This chat has ended. How did we do?")).toBeVisible();
  await expect(back.getByTestId("reopen-hint")).toBeVisible();
  await back.getByLabel("Message").fill("Thanks! When will I see the money?");
  await back.getByRole("button", { name: "Send", exact: true }).click();
  await expect(back.getByTestId("waiting")).toHaveText("Waiting for a member of our team to join…");
  await expect(back.getByTestId("reopen-hint")).toHaveCount(0);
  await agent.reload();
  await expect(live).toHaveAttribute("data-status", "waiting_for_agent");
  await back.goto(`${new URL(link).pathname.slice(0, -4)}xxxx`);
  await expect(back.getByTestId("follow-up-error")).toHaveText("This link is not valid");

  // Support hours back to always open for the specs after this one.
  await admin.getByLabel("Holidays").fill("");
  await admin.getByRole("button", { name: "Save support hours" }).click();
  await expect(hours.getByTestId("hours-summary")).toContainText("Now: open.");
});
