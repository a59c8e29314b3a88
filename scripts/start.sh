#!/usr/bin/env bash
# Install what is needed and start ReUp on its embedded defaults (SQLite, no Redis, demo data).
# Port: REUP_PORT (default 3000). Any REUP_* setting in the environment is honoured.
#
# Without REUP_METRC_BASE_URL the local METRC sandbox (seeded like the demo) runs on 127.0.0.1:8801,
# the default METRC address, and the demo wholesalers' licenses are connected to it, so syncs run on
# the first start. Without REUP_REDIS_URL the job worker runs inside the app process
# (REUP_EMBEDDED_WORKER=1), so sync progress reaches the browser over the in-process event bus;
# with Redis a separate `reup worker` process runs the jobs.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

export REUP_PORT="${REUP_PORT:-3000}"
# Dev default: the METRC sandbox's vendor key (never a real key; production sets its own).
export REUP_METRC_VENDOR_KEY="${REUP_METRC_VENDOR_KEY:-reup-sandbox-vendor-key}"
mkdir -p var
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

if [ -z "${REUP_METRC_BASE_URL:-}" ]; then
  echo "==> Starting the METRC sandbox on 127.0.0.1:8801 (demo data; log: var/metrc-sandbox.log)"
  reup sandbox metrc --seed demo --port 8801 --vendor-key "$REUP_METRC_VENDOR_KEY" >>var/metrc-sandbox.log 2>&1 &
  PIDS+=($!)
fi

if [ -z "${REUP_FLEETBASE_WEBHOOK_SECRET:-}" ]; then
  # Dev default: the local Fleetbase sandbox on 8802 signs its webhooks to this app with a demo secret.
  export REUP_FLEETBASE_WEBHOOK_SECRET="whsec-reup-demo-sandbox" REUP_DEMO_FLEETBASE=1
  echo "==> Starting the Fleetbase sandbox on 127.0.0.1:8802 (log: var/fleetbase-sandbox.log)"
  reup sandbox fleetbase --port 8802 --webhook-secret "$REUP_FLEETBASE_WEBHOOK_SECRET" \
    --webhook-url "${REUP_APP_URL:-http://localhost:$REUP_PORT}/api/webhooks/fleetbase" >>var/fleetbase-sandbox.log 2>&1 &
  PIDS+=($!)
fi

if [ -z "${REUP_DUTCHIE_BASE_URL:-}" ]; then
  echo "==> Starting the Dutchie POS sandbox on 127.0.0.1:8803 (demo stores, 90 days of sales; log: var/dutchie-sandbox.log)"
  reup sandbox dutchie --seed demo --port 8803 >>var/dutchie-sandbox.log 2>&1 &
  PIDS+=($!)
fi

echo "==> Preparing the database (${REUP_DATABASE_URL:-SQLite in var/reup.db})"
reup seed --if-empty

if [ -z "${REUP_REDIS_URL:-}" ]; then
  echo "==> No Redis: the job worker (syncs, outbox) runs inside the app process"
  export REUP_EMBEDDED_WORKER=1
else
  echo "==> Starting the job worker in the background (syncs, outbox; log: var/worker.log)"
  reup worker >>var/worker.log 2>&1 &
  PIDS+=($!)
fi
echo "==> Building and starting ReUp (first build takes a minute or two)"
echo "==> ReUp will be at ${REUP_APP_URL:-http://localhost:$REUP_PORT}  (demo logins: see README.md)"
reflex run --env prod --single-port --backend-port "$REUP_PORT"
