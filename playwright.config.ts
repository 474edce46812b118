import { defineConfig } from "@playwright/test";

// The e2e server (e2e/serve.ts) binds a free port and prints it; Playwright reads it from that line into
// E2E_PORT before the workers start (they load this file again, with it set). E2E_PORT set beforehand
// picks the port instead.
const port = process.env.E2E_PORT;

// Debian's Chromium (apt-get install chromium): Playwright's own browser download cannot work offline.
export default defineConfig({
  testDir: "e2e",
  workers: 1,
  timeout: 120_000,
  expect: { timeout: 60_000 },
  reporter: [["list"]],
  use: {
    baseURL: port ? `http://127.0.0.1:${port}` : undefined,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    },
  },
  webServer: {
    command: "node --import tsx e2e/serve.ts",
    wait: { stdout: /e2e server ready at http:\/\/127\.0\.0\.1:(?<e2e_port>\d+)/ },
    timeout: 180_000,
    reuseExistingServer: false,
    // The default is SIGKILL, which skips e2e/serve.ts's shutdown: every run would leave its database behind.
    gracefulShutdown: { signal: "SIGTERM", timeout: 15_000 },
    stdout: "pipe",
  },
});
