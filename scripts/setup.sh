#!/usr/bin/env bash
# Brings a checkout up to date for running or testing: npm packages, the Prisma client, the Python
# venv, the model store, the Next build and the database schema. Each step is skipped when current,
# so later runs take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# The Prisma CLI would download a native schema engine that cannot be fetched offline; generate needs none.
export PRISMA_SCHEMA_ENGINE_BINARY=/bin/false

step() { printf '\n== %s\n' "$*"; }

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "installing npm packages"
  npm ci --no-audit --no-fund
fi

if [ ! -f lib/generated/prisma/client.ts ] || [ prisma/schema.prisma -nt lib/generated/prisma/client.ts ]; then
  step "generating the Prisma client"
  npx prisma generate
fi

step "Python venv and model store"
bash training/build_models.sh

if [ ! -f .next/BUILD_ID ] || [ -n "$(find app lib public next.config.js package-lock.json -newer .next/BUILD_ID -print -quit)" ]; then
  step "building the web app"
  npx next build
fi

# Tests migrate the throw-away databases they create; `npm start` migrates the one it serves.
if [ "${1:-}" != "--no-migrate" ]; then
  step "migrating the database"
  npx tsx scripts/migrate.ts deploy
fi
