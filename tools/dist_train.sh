#!/usr/bin/env bash
# Usage: bash tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]
# Env knobs: NNODES (1), NODE_RANK (0), PORT (29500), MASTER_ADDR (127.0.0.1),
# PYTHON (python), DRY_RUN=1 (print the exact command, run nothing).
# Several nodes: run it on each with the same NNODES, MASTER_ADDR (node 0's
# address) and PORT, and NODE_RANK 0 .. NNODES-1 (torchrun's static
# rendezvous). On machines without CUDA the processes train on CPU with gloo.
set -euo pipefail
CONFIG=$1
NPROCS=$2
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
     "$ROOT/tools/train.py"
     "$CONFIG"
     --launcher pytorch "${@:3}")
if [ "${DRY_RUN:-0}" = 1 ]; then
    printf '%q ' "${CMD[@]}"; echo
    exit 0
fi
exec "${CMD[@]}"
