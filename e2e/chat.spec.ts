import { expect, test } from "@playwright/test";

test("a customer chats, sees the reply come in checked sentences, and keeps the history after a reload", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByText("Support is online")).toBeVisible();

  await page.getByLabel("Message").fill("Hello! How long does express shipping take?");
  await page.getByRole("button", { name: "Send" }).click();

  const customerMessage = page.locator('li[data-role="customer"]');
  await expect(customerMessage).toHaveText("Hello! How long does express shipping take?");

  // The bot is seen preparing the reply (streaming), then the reply is complete: whole sentences only,
  // each checked against the help centre before it was sent, with its source under it.
  const bot = page.locator('li[data-role="bot"]').first();
  await expect(bot).toHaveAttribute("data-status", "streaming");
  await expect(bot).toHaveAttribute("data-status", "complete", { timeout: 60_000 });
  const reply = page.locator('li[data-role="bot"] .text').first();
  const finalText = (await reply.textContent()) ?? "";
  expect(finalText).toMatch(/1-2 business days/);
  expect(finalText).toMatch(/[.!?]$/);
  await expect(bot.getByRole("list", { name: "Sources" }).getByRole("link").first()).toBeVisible();

  await page.reload();
  await expect(page.locator('li[data-role="customer"]')).toHaveText("Hello! How long does express shipping take?");
  await expect(page.locator('li[data-role="bot"] .text')).toHaveText(finalText);
});

test("text that looks like HTML is shown as text, never run", async ({ page }) => {
  const hostile = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> **bold** [link](javascript:alert(1))`;
  await page.goto("/");
  await expect(page.getByText("Support is online")).toBeVisible();
  await page.getByLabel("Message").fill(hostile);
  await page.getByRole("button", { name: "Send" }).click();
  // Message texts hold no elements (a reply's source link lives beside its text, not in it).
  const messages = page.getByTestId("messages");
  await expect(page.locator('li[data-role="customer"]')).toHaveText(hostile);
  // Wait for the bot's answer to finish (a missing element would satisfy a bare "not streaming").
  await expect(page.locator('li[data-role="bot"]').first()).toHaveAttribute("data-status", /^(complete|stopped|failed)$/);
  expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
  await expect(messages.locator(".text").locator("script, img, a, b, strong, em")).toHaveCount(0);

  // The same text rendered again from the stored history.
  await page.reload();
  await expect(page.locator('li[data-role="customer"]')).toHaveText(hostile);
  await expect(page.locator('li[data-role="bot"]')).toHaveCount(1);
  expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
  await expect(messages.locator(".text").locator("script, img, a, b, strong, em")).toHaveCount(0);
});

test("the embeddable widget opens the same chat from one script tag", async ({ page, baseURL }) => {
  await page.setContent(`<html><body><h1>Some shop page</h1><script src="${baseURL}/widget.js"></script></body></html>`);
  await page.getByRole("button", { name: "Open support chat" }).click();
  const chat = page.frameLocator('iframe[title="Support chat"]');
  await expect(chat.getByText("Support is online")).toBeVisible();
  await chat.getByLabel("Message").fill("hi");
  await chat.getByRole("button", { name: "Send" }).click();
  await expect(chat.locator('li[data-role="customer"]')).toHaveText("hi");
  const bot = chat.locator('li[data-role="bot"]').first();
  await expect(bot).toHaveAttribute("data-status", /complete|stopped/);
  await expect(bot.locator(".text")).toHaveText(/\S/);

  // The button closes the chat again.
  await page.getByRole("button", { name: "Close support chat" }).click();
  await expect(page.locator('iframe[title="Support chat"]')).toBeHidden();
});

test("a customer who asks for a person is handed to staff, and still is after a reload", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByText("Support is online")).toBeVisible();
  await expect(page.getByTestId("waiting")).toHaveCount(0);

  await page.getByLabel("Message").fill("I want to talk to a real person");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.locator('li[data-role="customer"]')).toHaveText("I want to talk to a real person");
  const bot = page.locator('li[data-role="bot"]');
  await expect(bot).toHaveAttribute("data-status", "complete");
  // No agent is online in this test: the bot says so and asks for an email address (see e2e/follow-up.spec.ts).
  await expect(bot.locator(".text")).toContainText("No one from our support team is online right now");
  await expect(bot.getByLabel("Your email address")).toBeVisible();
  await expect(page.getByTestId("waiting")).toHaveText("Waiting for a member of our team to join…");

  // After a reload the status comes from chat:history, not from a live chat:status event.
  await page.reload();
  await expect(page.getByText("Support is online")).toBeVisible();
  await expect(page.locator('li[data-role="customer"]')).toHaveText("I want to talk to a real person");
  await expect(page.locator('li[data-role="bot"] .text')).toContainText("No one from our support team is online right now");
  await expect(page.getByTestId("waiting")).toHaveText("Waiting for a member of our team to join…");
});
