"""Start a gloo process group on machines without CUDA.

mmengine's ``init_dist`` calls ``torch.cuda.set_device`` before it creates the
process group, which fails on CPU-only machines ("Found no NVIDIA driver").
:func:`init_cpu_dist` does what it does minus the CUDA calls, for the
``pytorch`` (torchrun) and ``slurm`` launchers. GPU machines never get here.
"""
import atexit
import datetime
import logging
import os
import subprocess
import sys
from typing import Optional

import torch
import torch.distributed as torch_dist


def _slurm_env(port: Optional[int]) -> None:
    """Fill the torch.distributed env variables from SLURM's."""
    proc_id = int(os.environ['SLURM_PROCID'])
    ntasks = int(os.environ['SLURM_NTASKS'])
    node_list = os.environ['SLURM_NODELIST']
    addr = subprocess.getoutput(
        f'scontrol show hostname {node_list} | head -n1').strip()
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ.setdefault('MASTER_ADDR', addr or '127.0.0.1')
    os.environ['WORLD_SIZE'] = str(ntasks)
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    os.environ['RANK'] = str(proc_id)


def init_cpu_dist(launcher: str, timeout: int = 1800,
                  port: Optional[int] = None, **_ignored) -> None:
    """Create the default process group with the gloo backend.

    Args:
        launcher (str): ``'pytorch'`` (torchrun / torch.distributed.launch)
            or ``'slurm'``.
        timeout (int): Seconds before collectives time out.
        port (int, optional): Master port for ``'slurm'``.
        **_ignored: Other ``env_cfg.dist_cfg`` keys (``backend`` is replaced
            by gloo: nccl cannot run without CUDA).
    """
    if torch_dist.is_initialized():
        return
    if launcher == 'slurm':
        _slurm_env(port)
    elif launcher != 'pytorch':
        raise RuntimeError(
            f'launcher={launcher!r} on a machine without CUDA: unidense can '
            "start CPU (gloo) processes for 'pytorch' (tools/dist_train.sh) "
            "and 'slurm' only")
    for key in ('MASTER_ADDR', 'MASTER_PORT', 'RANK', 'WORLD_SIZE'):
        if key not in os.environ:
            raise RuntimeError(
                f'launcher={launcher!r} but environment variable {key} is not '
                'set; start with tools/dist_train.sh (torchrun) or srun')
    torch_dist.init_process_group(
        backend='gloo', timeout=datetime.timedelta(seconds=timeout))
    # tear the group down before the interpreter does: left to shutdown,
    # gloo's threads are sometimes destroyed while joinable and the process
    # aborts ("terminate called without an active exception") after a
    # finished run, which torchrun reports as a failure
    atexit.register(_destroy_process_group)


def exit_process_group_run(code: int = 0) -> None:
    """End a finished distributed run without Python's shutdown.

    Even with the group destroyed first (:func:`_destroy_process_group`),
    a rank of a finished run sometimes aborts while the interpreter tears
    down ("terminate called without an active exception"), which torchrun
    reports as a failed run; leaving with ``os._exit`` after flushing logs
    and streams skips that teardown. A no-op (returns) when no process
    group is initialised, so single-process runs exit normally. Seen with
    gloo on CPU; a GPU run (NCCL) leaves the same way.
    """
    if not torch_dist.is_initialized():
        return
    _destroy_process_group()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _destroy_process_group() -> None:
    if torch_dist.is_initialized():
        # wait for every rank first: a rank that tears its gloo pairs down
        # while another still finishes its last collective (after_run
        # hooks, FSDP's final gathers) can abort the same way
        try:
            torch_dist.barrier()
        except RuntimeError:
            pass   # a peer is gone already; tear down what is left
        torch_dist.destroy_process_group()


def cuda_usable() -> bool:
    """True when a CUDA device can be used by this process."""
    return torch.cuda.is_available()
