#!/usr/bin/env bash
# The test suite (tests/, pytest). Installs unidense into .venv first if no
# interpreter here can import it (see tools/ensure_env.sh). Extra arguments go
# to pytest, e.g. `bash tools/run_tests.sh tests/test_evaluation -x`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# shellcheck source=tools/ensure_env.sh
source "$ROOT/tools/ensure_env.sh"
exec "$PYTHON" -m pytest -q "$@"
