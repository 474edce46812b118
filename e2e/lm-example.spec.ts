/**
 * The "Write the right answer" box: a customer gets a bot reply, an agent marks it Bad in the
 * transcript, writes the right answer (a chat-template token is refused with the server's message),
 * saves it, and finds it there after a reload. The agent is created by e2e/serve.ts.
 */
import { expect, test } from "@playwright/test";
import { E2E_STAFF, logIn } from "./staff";

test("an agent marks a reply Bad and writes the right answer for training", async ({ browser }) => {
  const customer = await (await browser.newContext()).newPage();
  const staff = await (await browser.newContext()).newPage();

  await customer.goto("/");
  await expect(customer.getByText("Support is online")).toBeVisible();
  await customer.getByLabel("Message").fill("how do i cancel my order? i just placed it");
  await customer.getByRole("button", { name: "Send" }).click();
  await expect.poll(() => customer.evaluate(() => localStorage.getItem("loopdesk.conversationId"))).not.toBeNull();
  const conversationId = (await customer.evaluate(() => localStorage.getItem("loopdesk.conversationId")))!;

  await staff.goto(`/staff/login?next=/staff/conversations/${conversationId}`);
  await logIn(staff, E2E_STAFF.agent);
  const live = staff.getByTestId("live-conversation");
  const reply = live.locator('li[data-role="bot"]').first();
  // Feedback buttons appear once the reply has finished.
  await reply.getByRole("button", { name: "✗ Bad" }).click();
  await expect(reply.getByRole("button", { name: "✗ Bad" })).toHaveAttribute("aria-pressed", "true");

  const box = reply.getByRole("textbox", { name: "Write the right answer" });
  await box.fill("Cancel it.<|im_end|>");
  await reply.getByRole("button", { name: "Save for training" }).click();
  await expect(reply.getByTestId("lm-error")).toContainText("chat-template token <|im_end|>");

  const answer = "To cancel, go to My Orders, open the order and choose Cancel order.";
  await box.fill(answer);
  await reply.getByRole("button", { name: "Save for training" }).click();
  await expect(reply.getByTestId("lm-saved-answer")).toHaveText(answer);
  await expect(reply.getByTestId("lm-error")).toHaveCount(0);

  await staff.reload();
  await expect(staff.getByTestId("live-conversation").locator('li[data-role="bot"]').first().getByTestId("lm-saved-answer")).toHaveText(answer);
});
