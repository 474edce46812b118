#!/usr/bin/env bash
# `npm test`: every suite — Vitest (unit + integration on real Postgres and the real model),
# Playwright in Debian's Chromium, pytest for training — then one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-migrate || exit 1
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  echo "Chromium is missing: apt-get install -y --no-install-recommends chromium" >&2
  exit 1
fi
out=$(mktemp -d)
status=0
echo; echo "== vitest"
npx vitest run --reporter=default --reporter=json --outputFile.json="$out/vitest.json" || status=1
echo; echo "== playwright"
PLAYWRIGHT_JSON_OUTPUT_NAME="$out/playwright.json" npx playwright test --reporter=list,json || status=1
echo; echo "== pytest"
.venv/bin/python -m pytest training/tests -q --junitxml="$out/pytest.xml" || status=1
node scripts/test-summary.js "$out" || status=1
exit $status
