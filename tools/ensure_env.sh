# Sourced by tools/run_demo.sh and tools/run_tests.sh: sets PYTHON to an
# interpreter that can import unidense (and, for the tests, its test tools).
# On a machine where nothing is installed yet it creates .venv in the
# repository root and installs unidense there (first run: a few minutes, the
# torch wheel is large); later runs reuse it. UNIDENSE_EXTRAS picks the
# extras: "dev" (default: tests, web demo, docs) or "" (the runtime only, what
# the README demo needs). An interpreter given in $PYTHON, or an active
# environment that already has unidense, is used as it is.
ROOT=${ROOT:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"}
UNIDENSE_EXTRAS=${UNIDENSE_EXTRAS-dev}
_has_unidense() {
    local modules='unidense, diffusers, mmengine'
    [ -n "$UNIDENSE_EXTRAS" ] && modules="$modules, pytest"
    "$1" -c "import $modules" >/dev/null 2>&1
}
if [ -z "${PYTHON:-}" ]; then
    for candidate in python python3 "$ROOT/.venv/bin/python"; do
        if command -v "$candidate" >/dev/null 2>&1 && _has_unidense "$candidate"; then
            PYTHON="$candidate"
            break
        fi
    done
fi
if [ -z "${PYTHON:-}" ]; then
    spec="$ROOT${UNIDENSE_EXTRAS:+[$UNIDENSE_EXTRAS]}"
    echo "unidense is not installed: creating $ROOT/.venv and installing it (pip install -e $spec)" >&2
    base=$(command -v python3 || command -v python) || {
        echo "ERROR: no python3 found; install Python >= 3.9 first" >&2
        exit 1
    }
    "$base" -m venv "$ROOT/.venv"
    "$ROOT/.venv/bin/python" -m pip install --upgrade pip >&2
    "$ROOT/.venv/bin/python" -m pip install -e "$spec" >&2
    PYTHON="$ROOT/.venv/bin/python"
fi
export PYTHON
