#!/usr/bin/env bash
# The main job (README's first command): train and evaluate small unified
# models on the pretrained tiny family - MERGE depth on the frozen tiny DiT,
# JointNet rgb2j depth and a Diff-2-in-1 normal head on the frozen tiny UNet
# - on held-out SyntheticScenes and the real NYU samples (when
# ../shared/data/realdata is there), print one table against trivial
# baselines, and write pictures into work_dirs/demo (see tools/run_demo.py).
# Installs unidense into .venv first if no interpreter here can import it
# (see tools/ensure_env.sh).
# Usage: bash tools/run_demo.sh [--quick] [--work-dir DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# the demo needs the runtime only (the tests add their tools when they run)
UNIDENSE_EXTRAS=${UNIDENSE_EXTRAS-}
# shellcheck source=tools/ensure_env.sh
source "$ROOT/tools/ensure_env.sh"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
cd "$ROOT"
exec "$PYTHON" "$ROOT/tools/run_demo.py" "$@"
