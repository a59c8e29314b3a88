# Sourced by scripts/start.sh and scripts/test.sh: installs what ReUp needs, idempotently.
#   - a Python >= 3.11 virtualenv in .venv with the project and its pinned dependencies
#   - Bun 1.4.4 from the npm registry into .tools/ (Reflex's own Bun download needs the internet)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "ReUp needs Python >= 3.11 (found: $("$PY" --version 2>&1)). Set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv

stamp=".venv/.reup-deps-$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "==> Installing Python dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  rm -f .venv/.reup-deps-*
  touch "$stamp"
fi

BUN_VERSION=1.4.4
if [ "$(.tools/node_modules/.bin/bun --version 2>/dev/null || true)" != "$BUN_VERSION" ]; then
  command -v npm >/dev/null || { echo "npm is required to install Bun $BUN_VERSION (apt-get install -y npm)." >&2; exit 1; }
  echo "==> Installing Bun $BUN_VERSION into .tools/"
  npm install --prefix .tools --no-audit --no-fund --loglevel=error "bun@$BUN_VERSION" >/dev/null
fi

export PATH="$ROOT/.tools/node_modules/.bin:$ROOT/.venv/bin:$PATH"
export REFLEX_USE_SYSTEM_BUN=1 REFLEX_TELEMETRY_ENABLED=false REFLEX_CHECK_LATEST_VERSION=0
