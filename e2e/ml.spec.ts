/**
 * The ML console end to end: an ML user imports a small file, trains a real classifier on the CPU
 * while the progress bar and the loss curve move, compares the candidate with production, promotes
 * it, and the running server serves it. Support agents are kept out.
 *
 * The staff accounts and the training worker are started by e2e/serve.ts.
 */
import { expect, test, type Page } from "@playwright/test";
import { E2E_STAFF, logIn } from "./staff";

const ml = E2E_STAFF.ml;
const agent = E2E_STAFF.agent;

/** Six new phrasings each of two existing intents: enough for the importer's minimum per label. */
function importFile(): string {
  const rows = [
    ...["parcel", "package", "box", "delivery", "shipment", "purchase"].map((thing) => [`has my ${thing} from last week shipped yet`, "order_status"]),
    ...["socks", "kettle", "lamp", "rug", "mug", "scarf"].map((thing) => [`please stop my order of the ${thing} before it ships`, "cancel_order"]),
  ];
  return ["text,label", ...rows.map(([text, label]) => `${text},${label}`)].join("\n") + "\n";
}

/** A number attribute of an element, for polling. */
async function numberAttr(page: Page, testId: string, name: string): Promise<number> {
  return Number(await page.getByTestId(testId).getAttribute(name));
}

test("a support agent cannot open the ML console", async ({ page }) => {
  await page.goto("/ml");
  await expect(page).toHaveURL(/\/staff\/login\?next=%2Fml$/);
  await logIn(page, agent);
  await expect(page.getByTestId("access-denied")).toContainText("403");
  await expect(page.getByTestId("access-denied")).toContainText("/ml");
  expect((await page.request.get("/api/ml/runs")).status()).toBe(403);
});

test("an ML user imports data, trains on the CPU, compares the candidate, promotes it and rolls back", async ({ page, browser }) => {
  // Training a real MiniLM on ~1,200 rows on two shared cores takes a minute or two.
  test.setTimeout(8 * 60_000);
  const consoleErrors: string[] = [];
  page.on("console", (msg) => {
    // The site has no favicon; Chromium's own request for one is not the console's doing.
    if (msg.type() === "error" && !msg.location().url.endsWith("/favicon.ico")) consoleErrors.push(`${msg.text()} (${msg.location().url})`);
  });
  page.on("pageerror", (err) => consoleErrors.push(err.message));

  // A customer asks something, so the production panel has a message to count.
  const customer = await (await browser.newContext()).newPage();
  await customer.goto("/");
  await expect(customer.getByText("Support is online")).toBeVisible();
  await customer.getByLabel("Message").fill("Where is my order NW-482913?");
  await customer.getByRole("button", { name: "Send" }).click();
  await expect(customer.locator('li[data-role="bot"]').first()).toHaveAttribute("data-status", "complete");
  await customer.context().close();

  await page.goto("/ml");
  await expect(page).toHaveURL(/\/staff\/login\?next=%2Fml$/);
  await logIn(page, ml);
  await expect(page).toHaveURL(/\/ml$/);
  await expect(page.getByRole("heading", { name: "ML console" })).toBeVisible();
  await expect(page.getByTestId("staff-identity")).toHaveText("Mia ML · ml");
  const production = page.getByTestId("production-panel");
  await expect(production.getByText("Customer messages")).toBeVisible();
  // One bar per intent production saw (other specs chat on this server too, so ask the API how many).
  const intentsSeen = async (window: string) => String((await (await page.request.get(`/api/ml/production?window=${window}`)).json()).intents.length);
  const day = await intentsSeen("day");
  expect(Number(day)).toBeGreaterThanOrEqual(1);
  await expect(production.getByTestId("intent-chart")).toHaveAttribute("data-points", day);
  await production.getByRole("button", { name: "Last week" }).click();
  await expect(production.getByRole("button", { name: "Last week" })).toHaveAttribute("aria-pressed", "true");
  await expect(production.getByTestId("intent-chart")).toHaveAttribute("data-points", await intentsSeen("week"));

  // Import: the report, and the new examples counted under their intents.
  await page.getByRole("navigation", { name: "ML console" }).getByRole("link", { name: "Data" }).click();
  await expect(page.getByRole("heading", { name: "Training data" })).toBeVisible();
  await expect(page.getByTestId("intent-row-order_status").locator("td").nth(2)).toHaveText("0");
  await page.getByLabel(/^File/).setInputFiles({ name: "e2e-import.csv", mimeType: "text/csv", buffer: Buffer.from(importFile()) });
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByTestId("import-report")).toContainText("Imported.");
  await expect(page.getByTestId("import-report")).toContainText("12 inserted");
  await expect(page.getByTestId("intent-row-order_status").locator("td").nth(2)).toHaveText("6");
  await expect(page.getByTestId("intent-row-cancel_order").locator("td").nth(2)).toHaveText("6");
  await expect(page.getByTestId("dataset-chart")).toHaveAttribute("data-points", "20");

  // A short CPU run; its page opens.
  await page.getByRole("navigation", { name: "ML console" }).getByRole("link", { name: "Runs" }).click();
  const form = page.getByRole("form", { name: "Start a run" });
  await form.getByLabel("Device").selectOption("cpu");
  await form.getByLabel("Epochs").fill("1");
  await form.getByLabel("Max length (tokens)").fill("32");
  await form.getByRole("button", { name: "Start run" }).click();
  await expect(page).toHaveURL(/\/ml\/runs\/[0-9a-f-]{36}$/);
  await expect(page.locator('[data-live="live"]')).toBeVisible();

  // The progress bar and the loss curve move while it trains, without a reload.
  const progress = page.getByRole("progressbar", { name: "Training progress" });
  await expect.poll(() => numberAttr(page, "loss-chart", "data-points"), { timeout: 4 * 60_000 }).toBeGreaterThan(0);
  const firstPoints = await numberAttr(page, "loss-chart", "data-points");
  const firstProgress = Number(await progress.getAttribute("aria-valuenow"));
  expect(firstProgress).toBeGreaterThan(0);
  await expect(page.getByTestId("run-progress-text")).toContainText(/ETA|exporting/);
  await expect.poll(() => numberAttr(page, "loss-chart", "data-points"), { timeout: 4 * 60_000 }).toBeGreaterThan(firstPoints);
  await expect.poll(async () => Number(await progress.getAttribute("aria-valuenow")), { timeout: 4 * 60_000 }).toBeGreaterThan(firstProgress);

  await expect(page.getByTestId("run-status")).toHaveText("succeeded", { timeout: 5 * 60_000 });
  await expect(progress).toHaveAttribute("aria-valuenow", "100");
  await expect(page.getByTestId("eval-chart")).toHaveAttribute("data-points", "1");
  await expect(page.getByTestId("eval-table")).toBeVisible();
  await expect(page.getByTestId("run-logs")).toContainText("PROGRESS");
  const candidate = page.getByTestId("run-candidate");
  await expect(candidate).toContainText("Registered candidate clf-");
  await candidate.getByRole("link", { name: /Compare with production/ }).click();

  // The comparison: the gate's verdict and both heat maps.
  await expect(page).toHaveURL(/\/ml\/models\/clf-[^/]+$/);
  const version = decodeURIComponent(page.url().split("/").at(-1)!);
  const verdict = page.getByTestId("gate-verdict");
  await expect(verdict).toBeVisible({ timeout: 2 * 60_000 });
  await expect(verdict).toContainText(/The gate (passes|refuses)/);
  await expect(page.getByTestId("per-intent").locator("tbody tr")).toHaveCount(20);
  await expect(page.getByTestId("confusion-candidate")).toHaveAttribute("data-points", "400");
  await expect(page.getByTestId("confusion-production")).toHaveAttribute("data-points", "400");

  // Promote, overriding the gate with a reason if a one-epoch model does not pass it.
  if ((await verdict.getAttribute("data-pass")) === "false") {
    const promote = page.getByRole("button", { name: "Promote anyway" });
    await expect(promote).toBeDisabled();
    await page.getByLabel("Override the gate").check();
    await page.getByLabel(/Reason for the override/).fill("e2e: a one-epoch model, promoted to test the loop");
    await promote.click();
  } else {
    await page.getByRole("button", { name: "Promote to production" }).click();
  }
  await expect(page.getByTestId("promoted")).toContainText(`${version} is now production`);

  // The running server serves it within seconds.
  const serving = async () => ((await (await page.request.get("/api/health")).json()) as { models?: { classifier?: { version?: string } } }).models?.classifier?.version;
  const seedVersion = (await (await page.request.get("/api/ml/models")).json()).items.find((m: { version: string }) => m.version.startsWith("seed-")).version;
  await expect.poll(serving, { timeout: 30_000 }).toBe(version);

  // The versions page marks it, and the audit log records the promotion.
  await page.getByRole("navigation", { name: "ML console" }).getByRole("link", { name: "Models" }).click();
  await expect(page.getByTestId(`model-row-${version}`)).toContainText("production");
  await expect(page.getByTestId("audit-table")).toContainText("promote");

  // Roll back, which also puts the seed model back for the specs that chat after this one.
  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByRole("form", { name: "Roll back" }).getByLabel(/Reason/).fill("e2e: back to the seed model");
  await page.getByRole("button", { name: "Roll back" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Rolled back" })).toContainText(`${seedVersion} is production now`);
  await expect.poll(serving, { timeout: 30_000 }).toBe(seedVersion);
  await expect(page.getByTestId(`model-row-${seedVersion}`)).toContainText("production");

  expect(consoleErrors).toEqual([]);
});
