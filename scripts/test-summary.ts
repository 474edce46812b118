/**
 * `npm test`'s closing lines: adds up the three runners' reports (written by scripts/test.sh into one
 * folder, each beside a `<runner>.exit` holding the runner's exit status) into
 * "N passed, N failed (N of them failed to run), N skipped", exiting 1 when anything failed.
 *
 * What failed to run counts as failed and is named on a line of its own: a Vitest file whose
 * beforeAll or afterAll threw or that did not import, a Playwright global error (global setup, web
 * server, a spec that did not load), a pytest collection or fixture error, a runner that wrote no
 * report, and a runner that exited non-zero while its report shows no failure (a Vitest unhandled
 * error, for one, is only in its exit status). Tested on real reports in tests/fixtures/test-reports.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

export const RUNNERS = { vitest: "vitest.json", playwright: "playwright.json", pytest: "pytest.xml" } as const;
export type Runner = keyof typeof RUNNERS;

export interface Tally {
  passed: number;
  /** Failed tests plus `didNotRun`. */
  failed: number;
  skipped: number;
  /** Files, suites or whole runs that failed to run, one line each. */
  didNotRun: string[];
}

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { name: string; status: string; message: string; assertionResults: { status: string }[] }[];
}

interface PlaywrightReport {
  stats: { expected: number; unexpected: number; skipped: number; flaky: number };
  errors: { message: string; location?: { file: string; line: number } }[];
}

const firstLine = (text: string) => text.trim().split("\n")[0]!;
// Paths in the repository are shown relative to it, others (a fixture's temp folder) as they are.
const shown = (file: string) => {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith("..") ? file : relative;
};

function tallyVitest(report: VitestReport): Tally {
  const didNotRun: string[] = [];
  for (const file of report.testResults) {
    const testsFailed = file.assertionResults.some((t) => t.status === "failed");
    // A file-level error (hook, import) leaves its message here; failed tests alone leave none.
    if (file.status !== "failed" || (file.message === "" && testsFailed)) continue;
    const skipped = file.assertionResults.filter((t) => t.status === "skipped").length;
    const note = skipped > 0 ? ` (${skipped} of its tests show as skipped)` : "";
    didNotRun.push(`vitest: ${shown(file.name)} failed to run: ${firstLine(file.message) || "no test found"}${note}`);
  }
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests + didNotRun.length,
    skipped: report.numPendingTests + report.numTodoTests,
    didNotRun,
  };
}

function tallyPlaywright(report: PlaywrightReport): Tally {
  const didNotRun = report.errors.map(
    (e) => `playwright: ${firstLine(e.message)}${e.location ? ` (${shown(e.location.file)}:${e.location.line})` : ""}`,
  );
  const { expected, flaky, unexpected, skipped } = report.stats;
  return { passed: expected + flaky, failed: unexpected + didNotRun.length, skipped, didNotRun };
}

function tallyPytest(xml: string): Tally {
  const tally: Tally = { passed: 0, failed: 0, skipped: 0, didNotRun: [] };
  for (const [suite] of xml.matchAll(/<testsuite [^>]*>/g)) {
    const attr = (name: string) => Number(suite.match(new RegExp(` ${name}="(\\d+)"`))?.[1] ?? 0);
    const failed = attr("failures") + attr("errors");
    tally.passed += attr("tests") - failed - attr("skipped");
    tally.failed += failed;
    tally.skipped += attr("skipped");
  }
  // An error (collection, fixture) is already in `errors`; name each one.
  for (const [, classname = "", name = "", message = ""] of xml.matchAll(
    /<testcase classname="([^"]*)" name="([^"]*)"[^>]*>\s*<error message="([^"]*)"/g,
  )) {
    const where = [classname, name].filter(Boolean).join("::");
    tally.didNotRun.push(`pytest: ${where} failed to run: ${message.replaceAll("&quot;", '"').replaceAll("&amp;", "&")}`);
  }
  return tally;
}

/** One runner's tally from its report and exit status in `dir`. */
export function tallyRunner(dir: string, runner: Runner): Tally {
  const exitFile = path.join(dir, `${runner}.exit`);
  const exit = existsSync(exitFile) ? readFileSync(exitFile, "utf8").trim() : "unknown";
  const reportFile = path.join(dir, RUNNERS[runner]);
  if (!existsSync(reportFile))
    return { passed: 0, failed: 1, skipped: 0, didNotRun: [`${runner}: no report (exit status ${exit})`] };
  const report = readFileSync(reportFile, "utf8");
  const tally =
    runner === "vitest"
      ? tallyVitest(JSON.parse(report) as VitestReport)
      : runner === "playwright"
        ? tallyPlaywright(JSON.parse(report) as PlaywrightReport)
        : tallyPytest(report);
  if (tally.failed === 0 && exit !== "0" && exit !== "unknown") {
    tally.failed = 1;
    tally.didNotRun.push(
      `${runner}: exited with status ${exit} but no test failed: an error outside the tests (unhandled error, global setup), see its output above`,
    );
  }
  return tally;
}

/** The closing lines for the reports in `dir`, and whether everything passed. */
export function summarise(dir: string): { lines: string[]; ok: boolean } {
  const total: Tally = { passed: 0, failed: 0, skipped: 0, didNotRun: [] };
  for (const runner of Object.keys(RUNNERS) as Runner[]) {
    const tally = tallyRunner(dir, runner);
    total.passed += tally.passed;
    total.failed += tally.failed;
    total.skipped += tally.skipped;
    total.didNotRun.push(...tally.didNotRun);
  }
  const ranNot = total.didNotRun.length > 0 ? ` (${total.didNotRun.length} of them failed to run)` : "";
  return {
    lines: [...total.didNotRun, `${total.passed} passed, ${total.failed} failed${ranNot}, ${total.skipped} skipped`],
    ok: total.failed === 0,
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const { lines, ok } = summarise(process.argv[2]!);
  for (const line of lines) console.log(line);
  process.exit(ok ? 0 : 1);
}
