#!/usr/bin/env bash
# `npm start`: set up what is missing, then serve on $PORT (default 3000). With no DATABASE_URL the
# embedded PostgreSQL (PGlite) under ./data is used and the server runs the training worker itself;
# with DATABASE_URL the training worker (worker.ts) runs as a second process beside the server,
# restarted with backoff whenever it dies: the web server never goes down because the worker did.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export NODE_ENV=production
if [ -z "${DATABASE_URL:-}" ]; then
  exec node --import tsx server.ts
fi

# Restarts the worker after 1, 2, 4 … 60 s; a worker that ran a minute or more starts the count afresh.
supervise_worker() {
  local delay=1 started
  while true; do
    started=$(date +%s)
    node --import tsx worker.ts &
    worker=$!
    trap 'kill -TERM $worker 2>/dev/null; wait $worker; exit 0' TERM INT
    wait $worker && status=0 || status=$?
    if [ $(( $(date +%s) - started )) -ge 60 ]; then delay=1; fi
    echo "training worker exited with status $status; restarting in ${delay}s" >&2
    sleep "$delay" &
    wait $!
    delay=$(( delay * 2 > 60 ? 60 : delay * 2 ))
  done
}
supervise_worker &
supervisor=$!
node --import tsx server.ts &
server=$!
trap 'kill -TERM $server $supervisor 2>/dev/null; wait' TERM INT
# The server is the product: when it ends, so does the worker (its supervisor stops it).
status=0
wait $server || status=$?
kill -TERM $supervisor 2>/dev/null || true
wait || true
exit $status
