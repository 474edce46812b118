#!/usr/bin/env bash
# `npm test`: every suite — Vitest (unit + integration on real Postgres and the real model),
# Playwright in Debian's Chromium, pytest for training — then the summary: a line for each thing
# that failed to run, and "N passed, N failed (N of them failed to run), N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-migrate || exit 1
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  echo "Chromium is missing: apt-get install -y --no-install-recommends chromium" >&2
  exit 1
fi
out=$(mktemp -d)
# Runs one runner and keeps its exit status beside its report: the summary counts a runner that
# failed with no failing test in its report (an unhandled error, a global setup that threw).
run() {
  local name=$1; shift
  echo; echo "== $name"
  "$@"
  echo $? >"$out/$name.exit"
}
run vitest npx vitest run --reporter=default --reporter=json --outputFile.json="$out/vitest.json"
run playwright env PLAYWRIGHT_JSON_OUTPUT_NAME="$out/playwright.json" npx playwright test --reporter=list,json
run pytest .venv/bin/python -m pytest training/tests -q --junitxml="$out/pytest.xml"
echo; echo "== summary (reports in $out)"
# The summary is the verdict; any runner's own failure still fails the run, should the summary miss it.
status=0
grep -qvx 0 "$out"/*.exit && status=1
npx tsx scripts/test-summary.ts "$out" || status=1
exit $status
