#!/usr/bin/env bash
# The main job: train the tiny MERGE depth model (PixArt DiT + grouped
# converters) on procedural SyntheticScenes on CPU, evaluate the final
# checkpoint on held-out scenes, and write
#   work_dirs/demo/metrics.json   AbsRel / delta1 ... (least-squares aligned)
#   work_dirs/demo/vis/*.png      RGB | GT depth | predicted depth panels
# Installs unidense into .venv first if no interpreter here can import it
# (see tools/ensure_env.sh).
# Usage: bash tools/run_demo.sh [extra train.py args...]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# the demo needs the runtime only (the tests add their tools when they run)
UNIDENSE_EXTRAS=${UNIDENSE_EXTRAS-}
# shellcheck source=tools/ensure_env.sh
source "$ROOT/tools/ensure_env.sh"
CONFIG=${CONFIG:-"$ROOT/configs/merge/pixart_depth_tiny.py"}
WORK_DIR=${WORK_DIR:-"$ROOT/work_dirs/demo"}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

"$PYTHON" "$ROOT/tools/train.py" "$CONFIG" --work-dir "$WORK_DIR" "$@"
CKPT="$(cat "$WORK_DIR/last_checkpoint")"
"$PYTHON" "$ROOT/tools/test.py" "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" \
    --out "$WORK_DIR/metrics.json" --show-dir "$WORK_DIR/vis"
echo "metrics: $WORK_DIR/metrics.json"
cat "$WORK_DIR/metrics.json"
echo
echo "pictures: $(find "$WORK_DIR" -path '*vis*' -name '*.png' | head -1 | xargs dirname 2>/dev/null)"
