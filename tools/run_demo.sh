#!/usr/bin/env bash
# The main job: train a tiny model on built-in data on CPU, then evaluate the
# final checkpoint and write the metrics to work_dirs/demo/metrics.json.
# Usage: bash tools/run_demo.sh [extra train.py args...]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON=${PYTHON:-python}
CONFIG=${CONFIG:-"$ROOT/tests/helpers/configs/toy_regression.py"}
WORK_DIR=${WORK_DIR:-"$ROOT/work_dirs/demo"}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

"$PYTHON" "$ROOT/tools/train.py" "$CONFIG" --work-dir "$WORK_DIR" "$@"
CKPT="$(cat "$WORK_DIR/last_checkpoint")"
"$PYTHON" "$ROOT/tools/test.py" "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" \
    --out "$WORK_DIR/metrics.json"
echo "metrics: $WORK_DIR/metrics.json"
cat "$WORK_DIR/metrics.json"
