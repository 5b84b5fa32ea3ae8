#!/usr/bin/env bash
# Usage: bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args...]
# Env knobs: NNODES (1), NODE_RANK (0), PORT (29500), MASTER_ADDR (127.0.0.1),
# PYTHON (python), DRY_RUN=1 (print the exact command, run nothing).
# On machines without CUDA the processes run on CPU with gloo.
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROCS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

CMD=(env "PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}"
     "$PYTHON" -m torch.distributed.run
     --nnodes="$NNODES"
     --node_rank="$NODE_RANK"
     --master_addr="$MASTER_ADDR"
     --nproc_per_node="$NPROCS"
     --master_port="$PORT"
     "$ROOT/tools/test.py"
     "$CONFIG"
     "$CHECKPOINT"
     --launcher pytorch "${@:4}")
if [ "${DRY_RUN:-0}" = 1 ]; then
    printf '%q ' "${CMD[@]}"; echo
    exit 0
fi
exec "${CMD[@]}"
