#!/usr/bin/env bash
# Usage: [GPUS=4] [GPUS_PER_NODE=4] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#     [DRY_RUN=1] bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args...]
# One task per GPU over GPUS / GPUS_PER_NODE nodes; mmengine reads the rank
# and world size from slurm (--launcher slurm). DRY_RUN=1 prints the exact
# srun command and runs nothing. The master port can be set with
# --cfg-options env_cfg.dist_cfg.port=29501.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

# SRUN_ARGS is split on spaces on purpose (several srun options)
# shellcheck disable=SC2206
EXTRA=(${SRUN_ARGS})
CMD=(env "PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}"
     srun -p "${PARTITION}"
     --job-name="${JOB_NAME}"
     --gres=gpu:"${GPUS_PER_NODE}"
     --ntasks="${GPUS}"
     --ntasks-per-node="${GPUS_PER_NODE}"
     --cpus-per-task="${CPUS_PER_TASK}"
     --kill-on-bad-exit=1
     "${EXTRA[@]}"
     "$PYTHON" -u "$ROOT/tools/train.py" "${CONFIG}" --launcher="slurm" "${@:4}")
if [ "${DRY_RUN:-0}" = 1 ]; then
    printf '%q ' "${CMD[@]}"; echo
    exit 0
fi
exec "${CMD[@]}"
