// Adds up the three runners' reports into one closing line: "N passed, N failed, N skipped".
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const dir = process.argv[2];
const read = (f) => (existsSync(path.join(dir, f)) ? readFileSync(path.join(dir, f), "utf8") : null);
let passed = 0, failed = 0, skipped = 0, missing = [];

const vitest = read("vitest.json");
if (vitest) {
  const r = JSON.parse(vitest);
  passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
} else missing.push("vitest");

const playwright = read("playwright.json");
if (playwright) {
  const s = JSON.parse(playwright).stats;
  passed += s.expected + s.flaky; failed += s.unexpected; skipped += s.skipped;
} else missing.push("playwright");

const pytest = read("pytest.xml");
if (pytest) {
  const attr = (name) => Number(pytest.match(new RegExp(`<testsuite [^>]*${name}="(\\d+)"`))?.[1] ?? 0);
  const total = attr("tests"), fail = attr("failures") + attr("errors"), skip = attr("skipped");
  passed += total - fail - skip; failed += fail; skipped += skip;
} else missing.push("pytest");

if (missing.length) console.log(`no report from: ${missing.join(", ")}`);
console.log(`${passed} passed, ${failed + missing.length} failed, ${skipped} skipped`);
process.exit(failed + missing.length > 0 ? 1 : 0);
