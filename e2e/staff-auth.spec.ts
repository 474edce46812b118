/**
 * Staff log in through the form, an admin adds an agent in the console, and the agent is kept out
 * of the admin pages.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { expect, test, type APIRequestContext } from "@playwright/test";
import { ADMIN_URL, databaseUrl } from "../tests/helpers/postgres";

const run = randomUUID().slice(0, 8);
const admin = { email: `admin-${run}@example.com`, password: "e2e admin password" };
const agent = { name: "Ada Agent", email: `agent-${run}@example.com`, password: "e2e agent password" };

/**
 * e2e/serve.ts gives the server a fresh database under a random name and the spec cannot be told
 * which, so the first admin is created (with the CLI, as in production) in the newest e2e databases
 * until the server accepts the login.
 */
async function createFirstAdmin(request: APIRequestContext, baseURL: string) {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  const { rows } = await client.query(`SELECT datname FROM pg_database WHERE datname LIKE 'loopdesk_e2e_%' ORDER BY oid DESC LIMIT 3`);
  await client.end();
  for (const { datname } of rows) {
    execFileSync(process.execPath, ["bin/loopdesk.js", "staff", "create", "--email", admin.email, "--name", "Ed Admin", "--role", "admin"], {
      env: { ...process.env, DATABASE_URL: databaseUrl(datname), LOOPDESK_STAFF_PASSWORD: admin.password },
    });
    const res = await request.post("/api/staff/auth/login", { headers: { origin: baseURL }, data: { email: admin.email, password: admin.password } });
    if (res.ok()) return;
  }
  throw new Error("could not find the e2e server's database");
}

test.beforeAll(async ({ request, baseURL }) => createFirstAdmin(request, baseURL!));

test("an admin adds an agent, who cannot open the admin console", async ({ page }) => {
  await page.goto("/staff/admin");
  await expect(page).toHaveURL(/\/staff\/login\?next=%2Fstaff%2Fadmin$/);
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Administration" })).toBeVisible();
  await expect(page.getByTestId("staff-identity")).toHaveText("Ed Admin · admin");

  const addForm = page.getByRole("region", { name: "Staff" });
  await addForm.getByLabel("Name", { exact: true }).fill(agent.name);
  await addForm.getByLabel("Email", { exact: true }).fill(agent.email);
  await addForm.getByLabel("Role", { exact: true }).selectOption("agent");
  await addForm.getByLabel("Password", { exact: true }).fill(agent.password);
  await addForm.getByRole("button", { name: "Add" }).click();
  await expect(page.getByTestId(`staff-row-${agent.email}`)).toContainText("active");

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/staff\/login$/);

  await page.getByLabel("Email").fill(agent.email);
  await page.getByLabel("Password").fill(agent.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/staff$/);

  await page.goto("/staff/admin");
  await expect(page.getByTestId("access-denied")).toContainText("403");
  await expect(page.getByRole("heading", { name: "Administration" })).toHaveCount(0);
  expect((await page.request.get("/api/staff/admin/users")).status()).toBe(403);
});
