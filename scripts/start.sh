#!/usr/bin/env bash
# `npm start`: set up what is missing, then serve on $PORT (default 3000). With no DATABASE_URL the
# embedded PostgreSQL (PGlite) under ./data is used and the server runs the training worker itself;
# with DATABASE_URL the training worker (worker.ts) runs as a second process beside the server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export NODE_ENV=production
if [ -z "${DATABASE_URL:-}" ]; then
  exec node --import tsx server.ts
fi
node --import tsx worker.ts &
worker=$!
node --import tsx server.ts &
server=$!
trap 'kill -TERM $server $worker 2>/dev/null; wait' TERM INT
# When either process ends, stop the other: one without the other is not the product.
status=0
wait -n $server $worker || status=$?
kill -TERM $server $worker 2>/dev/null || true
wait || true
exit $status
