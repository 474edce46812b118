#!/usr/bin/env bash
# `npm start`: set up what is missing, then serve on $PORT (default 3000). With no DATABASE_URL the
# embedded PostgreSQL (PGlite) under ./data is used.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export NODE_ENV=production
exec node --import tsx server.ts
