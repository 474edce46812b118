// The `npm test` summary on real recorded reports: what failed to run must count as failed.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { summarise, tallyRunner, type Runner, type Tally } from "@/scripts/test-summary";

const fixtures = path.resolve("tests/fixtures/test-reports");

describe("tallyRunner on recorded reports", () => {
  it.each<[string, Runner, Tally]>([
    ["vitest-failing-test", "vitest", { passed: 1, failed: 1, skipped: 2, didNotRun: [] }],
    [
      "vitest-before-all-throws",
      "vitest",
      {
        passed: 1,
        failed: 1,
        skipped: 2,
        didNotRun: ["vitest: /tmp/tsfx/v/before/a.test.ts failed to run: server did not start (2 of its tests show as skipped)"],
      },
    ],
    [
      "vitest-import-fails",
      "vitest",
      {
        passed: 1,
        failed: 1,
        skipped: 0,
        didNotRun: [
          "vitest: /tmp/tsfx/v/import/a.test.ts failed to run: Cannot find module './does-not-exist' imported from /tmp/tsfx/v/import/a.test.ts",
        ],
      },
    ],
    [
      "vitest-after-all-throws",
      "vitest",
      { passed: 1, failed: 1, skipped: 0, didNotRun: ["vitest: /tmp/tsfx/v/after/a.test.ts failed to run: teardown failed"] },
    ],
    ...(["vitest-unhandled-error", "vitest-global-setup-throws"] as const).map((name): [string, Runner, Tally] => [
      name,
      "vitest",
      {
        passed: name === "vitest-unhandled-error" ? 1 : 0,
        failed: 1,
        skipped: 0,
        didNotRun: [
          "vitest: exited with status 1 but no test failed: an error outside the tests (unhandled error, global setup), see its output above",
        ],
      },
    ]),
    ["playwright-failing-test", "playwright", { passed: 1, failed: 1, skipped: 1, didNotRun: [] }],
    ["playwright-before-all-throws", "playwright", { passed: 0, failed: 1, skipped: 1, didNotRun: [] }],
    [
      "playwright-global-setup-throws",
      "playwright",
      { passed: 0, failed: 1, skipped: 0, didNotRun: ["playwright: Error: database is not reachable (/tmp/tsfx/p/globalsetup/setup.ts:1)"] },
    ],
    [
      "playwright-web-server-fails",
      "playwright",
      {
        passed: 0,
        failed: 1,
        skipped: 0,
        didNotRun: ["playwright: Error: Process from config.webServer was not able to start. Exit code: 1"],
      },
    ],
    [
      "playwright-import-fails",
      "playwright",
      {
        passed: 0,
        failed: 1,
        skipped: 0,
        didNotRun: ["playwright: Error: Cannot find module './does-not-exist' (/tmp/tsfx/p/import/b.spec.ts:2)"],
      },
    ],
    [
      "pytest-failing-test",
      "pytest",
      {
        passed: 1,
        failed: 2,
        skipped: 1,
        didNotRun: ['pytest: test_a::test_needs_db failed to run: failed on setup with "RuntimeError: database is not reachable"'],
      },
    ],
    ["pytest-collection-error", "pytest", { passed: 0, failed: 1, skipped: 0, didNotRun: ["pytest: test_b failed to run: collection failure"] }],
  ])("%s", (name, runner, tally) => {
    expect(tallyRunner(path.join(fixtures, name), runner)).toEqual(tally);
  });
});

describe("summarise", () => {
  it("passes a run where every runner passed", () => {
    expect(summarise(path.join(fixtures, "all-passing"))).toEqual({ lines: ["4 passed, 0 failed, 0 skipped"], ok: true });
  });

  it("counts a missing report as a failure, and one runner's error fails the whole run", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "loopdesk-summary-"));
    try {
      cpSync(path.join(fixtures, "all-passing/vitest.json"), path.join(dir, "vitest.json"));
      cpSync(path.join(fixtures, "all-passing/vitest.exit"), path.join(dir, "vitest.exit"));
      cpSync(path.join(fixtures, "playwright-web-server-fails"), dir, { recursive: true });
      expect(summarise(dir)).toEqual({
        lines: [
          "playwright: Error: Process from config.webServer was not able to start. Exit code: 1",
          "pytest: no report (exit status unknown)",
          "1 passed, 2 failed (2 of them failed to run), 0 skipped",
        ],
        ok: false,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
