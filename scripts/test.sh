#!/usr/bin/env bash
# Install what is needed and run the whole test suite against MySQL and Redis with real Chromium.
#   REUP_TEST_MYSQL_URL  (default mysql+pymysql://root@127.0.0.1:3306)  server; tests create their own databases
#   REUP_TEST_REDIS_URL  (default redis://127.0.0.1:6379/0)
#   REUP_TEST_PORT       (default 3100) port of the production build the browser tests drive; the
#                        topology tests put nginx there and app instances on the next ports
#   REUP_TOPOLOGY_MYSQL_PORT (default 13330) MariaDB primary of the topology tests (replica: next port)
# Extra arguments are passed to both pytest runs (e.g. -x, -k catalog).
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

export REUP_TEST_MYSQL_URL="${REUP_TEST_MYSQL_URL:-mysql+pymysql://root@127.0.0.1:3306}"
export REUP_TEST_REDIS_URL="${REUP_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
export REUP_TEST_PORT="${REUP_TEST_PORT:-3100}"

if ! command -v chromium >/dev/null 2>&1; then
  echo "==> Installing Debian's chromium for the browser tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "==> Installing Debian's nginx for the topology tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx-light >/dev/null
fi

python scripts/check_services.py

# Static checks first; a failure fails the run, but the tests still run so all output is seen.
status=0
echo "==> ruff (lint), ruff (format), import contracts (lint-imports), mypy"
ruff check . || status=$?
ruff format --check . || status=$?
lint-imports --no-cache || status=$?
mypy || status=$?
echo "==> Dependency audit (pip-audit; offline PyPA advisory data in REUP_ADVISORY_DB when PyPI's feed is unreachable)"
python scripts/audit_deps.py || status=$?

echo "==> Building the production frontend once for this run (port $REUP_TEST_PORT)"
REUP_PORT="$REUP_TEST_PORT" REUP_APP_URL="http://localhost:$REUP_TEST_PORT" \
  reflex export --frontend-only --no-zip --loglevel warning >/dev/null

echo "==> Unit and integration tests (MySQL, Redis)"
python -m pytest -n 2 -p no:cacheprovider tests/unit tests/integration "$@" || status=$?
echo "==> Browser tests (production build, real Chromium)"
python -m pytest -p no:cacheprovider tests/browser "$@" || status=$?
echo "==> Topology tests (MariaDB primary + TLS replica, Redis, app instances behind nginx, faults)"
python -m pytest -p no:cacheprovider tests/topology "$@" || status=$?
exit $status
