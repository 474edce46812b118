/**
 * What a customer sees under the bot's replies, in a real browser against the real server and models:
 * the source link opens the help-centre article (a new tab from the widget), "Did this answer your
 * question?" 👍/👎 is stored and restored after a reload (a 👎 offers a person), and a clarifying
 * question's buttons answer it.
 */
import { readFileSync } from "node:fs";
import { expect, test, type Locator, type Page } from "@playwright/test";
import { findAmbiguousMessage } from "../tests/helpers/ambiguous";
import { E2E_STAFF } from "./staff";

const REFUNDS = "How long do refunds take after I send something back?";
const REFUNDS_ARTICLE = "Returns, exchanges and refunds";

/** Sends a message in the chat (the page or the widget's frame) and returns the bot's finished reply to it. */
async function ask(chat: Page | ReturnType<Page["frameLocator"]>, text: string): Promise<Locator> {
  const before = await chat.locator('li[data-role="bot"]').count();
  await chat.getByLabel("Message").fill(text);
  await chat.getByRole("button", { name: "Send" }).click();
  const reply = chat.locator('li[data-role="bot"]').nth(before);
  await expect(reply).toHaveAttribute("data-status", "complete");
  return reply;
}

test("a grounded reply links its help-centre article, which opens with a way back to the chat", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByText("Support is online")).toBeVisible();
  const reply = await ask(page, REFUNDS);
  await expect(reply.getByText("From our help centre:")).toBeVisible();
  await reply.getByRole("link", { name: REFUNDS_ARTICLE }).click();

  await expect(page).toHaveURL(/\/help\/returns-exchanges-and-refunds$/);
  await expect(page.getByRole("heading", { name: REFUNDS_ARTICLE })).toBeVisible();
  await expect(page.getByTestId("help-article")).toContainText("5-7 business days");
  await page.getByRole("link", { name: "All help articles" }).click();
  await expect(page.getByTestId("help-articles").getByRole("link", { name: REFUNDS_ARTICLE })).toBeVisible();
  await page.getByRole("link", { name: "Chat with us" }).click();
  // Back in the chat: the conversation, source link included, comes back from history.
  await expect(page.locator('li[data-role="bot"]').first().getByRole("link", { name: REFUNDS_ARTICLE })).toBeVisible();
});

test("in the widget, a source opens in a new tab", async ({ page, baseURL }) => {
  await page.setContent(`<html><body><h1>Some shop page</h1><script src="${baseURL}/widget.js"></script></body></html>`);
  await page.getByRole("button", { name: "Open support chat" }).click();
  const chat = page.frameLocator('iframe[title="Support chat"]');
  await expect(chat.getByText("Support is online")).toBeVisible();
  const reply = await ask(chat, REFUNDS);
  const tab = page.context().waitForEvent("page");
  await reply.getByRole("link", { name: REFUNDS_ARTICLE }).click();
  const article = await tab;
  await expect(article).toHaveURL(/\/help\/returns-exchanges-and-refunds$/);
  await expect(article.getByRole("heading", { name: REFUNDS_ARTICLE })).toBeVisible();
});

test("👍/👎 on each reply is sent once, kept after a reload, a 👎 offers a person, and staff see both in the transcript", async ({ page, browser }) => {
  await page.goto("/");
  await expect(page.getByText("Support is online")).toBeVisible();
  const first = await ask(page, REFUNDS);
  await expect(first.getByText("Did this answer your question?")).toBeVisible();
  await first.getByRole("button", { name: "Helpful", exact: true }).click();
  await expect(first.getByText("Thanks for your feedback")).toBeVisible();
  await expect(first.getByRole("button", { name: "Helpful", exact: true })).toBeDisabled();
  await expect(first.getByRole("button", { name: "Not helpful" })).toBeDisabled();
  await expect(first.getByRole("button", { name: "Talk to a person" })).toHaveCount(0);

  const second = await ask(page, "how do I reset my password?");
  await second.getByRole("button", { name: "Not helpful" }).click();
  await expect(second.getByText("Thanks for your feedback")).toBeVisible();
  await expect(second.getByRole("button", { name: "Talk to a person" })).toBeVisible();

  // The stored answers come back from history, pressed and disabled.
  await page.reload();
  const replies = page.locator('li[data-role="bot"]');
  await expect(replies).toHaveCount(2);
  for (const [reply, pressed] of [[replies.nth(0), "Helpful"], [replies.nth(1), "Not helpful"]] as const) {
    await expect(reply.getByText("Thanks for your feedback")).toBeVisible();
    await expect(reply.getByRole("button", { name: pressed, exact: true })).toHaveAttribute("aria-pressed", "true");
    await expect(reply.getByRole("button", { name: "Helpful", exact: true })).toBeDisabled();
    await expect(reply.getByRole("button", { name: "Not helpful" })).toBeDisabled();
  }

  await replies.nth(1).getByRole("button", { name: "Talk to a person" }).click();
  await expect(page.locator('li[data-role="customer"]').last()).toHaveText("talk to a human");
  await expect(page.getByTestId("waiting")).toBeVisible();
  await expect(page.getByRole("button", { name: "Talk to a person" })).toHaveCount(0);

  // Staff see under each bot reply its sources, its sentence check and the customer's answer.
  const conversationId = await page.evaluate(() => localStorage.getItem("loopdesk.conversationId"));
  const staff = await (await browser.newContext()).newPage();
  await staff.goto(`/staff/login?next=/staff/conversations/${conversationId}`);
  await staff.getByLabel("Email").fill(E2E_STAFF.agent.email);
  await staff.getByLabel("Password").fill(E2E_STAFF.agent.password);
  await staff.getByRole("button", { name: "Log in" }).click();
  const grounding = staff.getByTestId("live-conversation").locator('li[data-role="bot"]').getByTestId("reply-grounding");
  await expect(grounding.nth(0)).toContainText(`Sources: ${REFUNDS_ARTICLE}`);
  await expect(grounding.nth(0)).toContainText(/Checked: \d+ of \d+ sentences sent/);
  await expect(grounding.nth(0).getByTestId("customer-helpful")).toHaveText("Customer: 👍 helpful");
  await expect(grounding.nth(1).getByTestId("customer-helpful")).toHaveText("Customer: 👎 not helpful");
});

test("a clarifying question offers one button per topic, and a click answers it", async ({ page, request, baseURL }) => {
  const health = await (await request.get("/api/health")).json();
  const articles = JSON.parse(readFileSync("training/data/knowledge_base.json", "utf8")) as { intent: string | null }[];
  const topics = new Set(articles.flatMap((a) => (a.intent ? [a.intent] : [])));
  const ambiguous = await findAmbiguousMessage(baseURL!, "models", health.models.classifier.version, topics);

  await page.goto("/");
  await expect(page.getByText("Support is online")).toBeVisible();
  const question = await ask(page, ambiguous);
  const options = question.getByRole("group", { name: "Do you mean…" }).getByRole("button");
  await expect(options).toHaveCount(2);
  await expect(question.getByText("Did this answer your question?")).toHaveCount(0);
  const title = (await options.first().textContent())!;
  await options.first().click();
  await expect(options.nth(0)).toBeDisabled();
  await expect(options.nth(1)).toBeDisabled();

  // The answer streams in as a normal reply, grounded and with feedback buttons.
  const answer = page.locator('li[data-role="bot"]').nth(1);
  await expect(answer).toHaveAttribute("data-status", "complete");
  await expect(answer.getByText("From our help centre:").first()).toBeVisible();
  await expect(answer.getByText("Did this answer your question?")).toBeVisible();

  await page.reload();
  const restored = page.locator('li[data-role="bot"]').first().getByRole("group", { name: "Do you mean…" }).getByRole("button");
  await expect(restored).toHaveCount(2);
  await expect(restored.filter({ hasText: title })).toBeDisabled();
  await expect(restored.nth(1)).toBeDisabled();
});
