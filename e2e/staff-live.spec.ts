/**
 * A customer and an agent in two browsers: the agent sees the customer's request appear in the queue
 * live, takes the chat over, they talk (with typing indicators both ways), the agent hands back to the
 * bot and later closes, and the customer's rating reaches the agent. Customers' text stays text.
 *
 * The agent is created by e2e/serve.ts.
 */
import { expect, test, type Browser, type Page } from "@playwright/test";
import { E2E_STAFF } from "./staff";

const agent = E2E_STAFF.agent;

const canned = [
  { id: "5b0f3a52-6a38-4d3c-9d8e-2f4f1f0c9a11", title: "Shipping delay", body: "Sorry for the delay! Your parcel is on its way." },
  { id: "9c3e1b7a-0d2f-4b8e-a5c6-7d1e2f3a4b5c", title: "Goodbye", body: "Thanks for contacting us, have a nice day!" },
];

async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  return context.newPage();
}

async function customerAsks(customer: Page, text: string): Promise<string> {
  await customer.goto("/");
  await expect(customer.getByText("Support is online")).toBeVisible();
  await customer.getByLabel("Message").fill(text);
  await customer.getByRole("button", { name: "Send" }).click();
  await expect(customer.locator('li[data-role="customer"]').first()).toHaveText(text);
  await expect.poll(() => customer.evaluate(() => localStorage.getItem("loopdesk.conversationId"))).not.toBeNull();
  return (await customer.evaluate(() => localStorage.getItem("loopdesk.conversationId")))!;
}

test("an agent takes over a live chat, hands it back, closes it and sees the customer's rating", async ({ browser }) => {
  const customer = await newPage(browser);
  const staff = await newPage(browser);
  // The canned responses an admin would have written (their admin pages are another spec's subject).
  await staff.route("**/api/staff/canned-responses", (route) => route.fulfill({ json: { cannedResponses: canned } }));

  // The agent logs in and watches the queue.
  await staff.goto("/staff/login?next=/staff/queue");
  await staff.getByLabel("Email").fill(agent.email);
  await staff.getByLabel("Password").fill(agent.password);
  await staff.getByRole("button", { name: "Log in" }).click();
  await expect(staff).toHaveURL(/\/staff\/queue$/);
  await expect(staff.locator('[data-live="live"]')).toBeVisible();

  // The customer asks for a person; the conversation appears in the queue without a reload.
  const conversationId = await customerAsks(customer, "I want to talk to a real person");
  await expect(customer.getByTestId("waiting")).toBeVisible();
  const row = staff.locator(`tr[data-conversation-id="${conversationId}"]`);
  await expect(row).toBeVisible();
  await row.getByRole("link").click();
  await expect(staff).toHaveURL(new RegExp(`/staff/conversations/${conversationId}$`));

  const live = staff.getByTestId("live-conversation");
  await expect(live.locator('li[data-role="customer"] .live-text')).toHaveText(["I want to talk to a real person"]);
  // Watching the queue is not being online (the agent is away), so the handoff says nobody is online; with
  // an agent online it would be the usual "connecting you" (e2e/assignment.spec.ts covers that).
  await expect(live.locator('li[data-role="bot"] .live-text')).toContainText([/No one from our support team is online right now|connecting you with a member of our support team/]);

  // Take over: the customer is told who joined.
  await live.getByRole("button", { name: "Take over" }).click();
  await expect(live).toHaveAttribute("data-status", "agent");
  await expect(live.getByTestId("live-assignee")).toHaveText("You are chatting with the customer");
  await expect(customer.locator('li[data-role="system"]')).toHaveText([`${agent.name} joined the chat`]);
  await expect(customer.getByTestId("waiting")).toHaveCount(0);

  // The agent types: the customer sees it, then gets the message.
  const reply = live.getByRole("textbox", { name: "Message to the customer" });
  await reply.pressSequentially("Hi, I'm Alex. ", { delay: 40 });
  await expect(customer.getByTestId("agent-typing")).toHaveText(`${agent.name} is typing…`);
  await live.getByLabel("Insert canned response").selectOption({ label: "Shipping delay" });
  await expect(reply).toHaveValue("Hi, I'm Alex. Sorry for the delay! Your parcel is on its way.");
  await live.getByRole("button", { name: "Send" }).click();
  await expect(reply).toHaveValue("");
  await expect(customer.locator('li[data-role="agent"] .text')).toHaveText(["Hi, I'm Alex. Sorry for the delay! Your parcel is on its way."]);
  await expect(customer.getByTestId("agent-typing")).toHaveCount(0);

  // The customer types back: the agent sees it, then gets the message; the bot stays silent.
  const botRepliesBefore = await customer.locator('li[data-role="bot"]').count();
  await customer.getByLabel("Message").pressSequentially("Thanks! Where is it now?", { delay: 40 });
  await expect(live.getByTestId("customer-typing")).toBeVisible();
  await customer.getByRole("button", { name: "Send" }).click();
  await expect(live.locator('li[data-role="customer"] .live-text').last()).toHaveText("Thanks! Where is it now?");
  await expect(live.getByTestId("customer-typing")).toHaveCount(0);
  await live.getByRole("textbox", { name: "Message to the customer" }).fill("It left our warehouse this morning.");
  await live.getByRole("textbox", { name: "Message to the customer" }).press("Enter");
  await expect(customer.locator('li[data-role="agent"] .text').last()).toHaveText("It left our warehouse this morning.");
  await expect(customer.locator('li[data-role="bot"]')).toHaveCount(botRepliesBefore);

  // Hand back: the bot answers the customer again.
  await live.getByRole("button", { name: "Hand back to bot" }).click();
  await expect(live).toHaveAttribute("data-status", "bot");
  await expect(customer.locator('li[data-role="system"]').last()).toHaveText(`${agent.name} handed you back to our assistant`);
  await customer.getByLabel("Message").fill("How long does standard shipping take?");
  await customer.getByRole("button", { name: "Send" }).click();
  const botAnswer = customer.locator('li[data-role="bot"]').nth(botRepliesBefore);
  await expect(botAnswer).toHaveAttribute("data-status", /^(complete|stopped)$/);
  await expect(botAnswer.locator(".text")).toHaveText(/\S/);
  await expect(live.locator('li[data-role="bot"]').last()).toHaveAttribute("data-status", /^(complete|stopped)$/);

  // Close: the customer is asked for a rating, also after a reload.
  await live.getByRole("button", { name: "Close conversation" }).click();
  await expect(live).toHaveAttribute("data-status", "closed");
  await expect(customer.getByTestId("rating-form")).toBeVisible();
  await expect(customer.getByLabel("Message")).toHaveCount(0);
  await customer.reload();
  await expect(customer.getByTestId("rating-form")).toBeVisible();
  await customer.getByRole("radio", { name: "4 out of 5" }).click();
  await customer.getByLabel("Comment (optional)").fill("Quick & <b>friendly</b>");
  await customer.getByRole("button", { name: "Send rating" }).click();
  await expect(customer.getByTestId("rating-thanks")).toContainText("Thank you for your feedback!");

  // The agent sees the rating live.
  await expect(live.getByTestId("live-rating-value")).toHaveText("4/5");
  await expect(live.getByTestId("live-rating-comment")).toHaveText("Quick & <b>friendly</b>");

  // After a reload the customer still sees the thanks, then starts over.
  await customer.reload();
  await expect(customer.getByTestId("rating-thanks")).toBeVisible();
  await customer.getByRole("button", { name: "Start a new conversation" }).click();
  await expect(customer.getByLabel("Message")).toBeVisible();
  await expect(customer.locator('li[data-role="customer"]')).toHaveCount(0);
});

test("a customer's HTML and markdown show as text in the staff console", async ({ browser, baseURL }) => {
  const hostile = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> **bold** [link](javascript:alert(1)) <a href="https://evil.example">click</a> &lt;b&gt;`;
  const customer = await newPage(browser);
  const conversationId = await customerAsks(customer, hostile);
  await expect(customer.locator('li[data-role="bot"]').first()).toHaveAttribute("data-status", /^(complete|stopped|failed)$/);

  const staff = await newPage(browser);
  const login = await staff.context().request.post("/api/staff/auth/login", {
    headers: { origin: baseURL! },
    data: { email: agent.email, password: agent.password },
  });
  expect(login.ok()).toBe(true);
  await staff.goto(`/staff/conversations/${conversationId}`);
  const live = staff.getByTestId("live-conversation");
  const text = live.locator('li[data-role="customer"] .live-text');
  await expect(text).toHaveText(hostile);
  await expect(live.locator(".live-text *")).toHaveCount(0); // no element was made from the text
  await expect(staff.locator("img")).toHaveCount(0);
  expect(await staff.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();

  // The same once the text arrives live, over the socket.
  await live.getByRole("button", { name: "Take over" }).click();
  await expect(live).toHaveAttribute("data-status", "agent");
  await customer.getByLabel("Message").fill(hostile);
  await customer.getByRole("button", { name: "Send" }).click();
  await expect(text).toHaveText([hostile, hostile]);
  await expect(live.locator(".live-text *")).toHaveCount(0);
  await expect(staff.locator("img")).toHaveCount(0);
  expect(await staff.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
});
