#!/usr/bin/env bash
# Install what is needed and start ReUp on its embedded defaults (SQLite, no Redis, demo data).
# Port: REUP_PORT (default 3000). Any REUP_* setting in the environment is honoured.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

export REUP_PORT="${REUP_PORT:-3000}"
echo "==> Preparing the database (${REUP_DATABASE_URL:-SQLite in var/reup.db})"
reup seed --if-empty
echo "==> Starting the job worker in the background (syncs, outbox; log: var/worker.log)"
mkdir -p var
reup worker >>var/worker.log 2>&1 &
WORKER_PID=$!
trap 'kill "$WORKER_PID" 2>/dev/null || true' EXIT
echo "==> Building and starting ReUp (first build takes a minute or two)"
echo "==> ReUp will be at ${REUP_APP_URL:-http://localhost:$REUP_PORT}  (demo logins: see README.md)"
reflex run --env prod --single-port --backend-port "$REUP_PORT"
