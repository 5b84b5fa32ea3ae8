"""Run tools/ scripts in subprocesses from tests (CPU, gloo)."""
import os
import os.path as osp
import socket
import subprocess
import sys

from unidense.utils.checkpoint_io import load_checkpoint_safe

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PY = sys.executable


def launch_env():
    """Environment for a tools/ subprocess: repo importable, CPU only."""
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + (os.pathsep + env['PYTHONPATH']
                                if env.get('PYTHONPATH') else '')
    env['OMP_NUM_THREADS'] = '1'
    env['CUDA_VISIBLE_DEVICES'] = env.get('CUDA_VISIBLE_DEVICES', '')
    env['PYTHON'] = PY
    return env


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_logged(cmd, log, timeout=240, env=None):
    """Run ``cmd`` in the repo root, output to ``log``; raise with its tail
    on a non-zero exit; return the output."""
    env = env or launch_env()
    with open(log, 'w') as f:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=f,
                              stderr=subprocess.STDOUT, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed '
                             f'(rc={proc.returncode}):\n' +
                             open(log).read()[-4000:])
    return open(log).read()


def checkpoint_weights(path):
    return load_checkpoint_safe(path)['state_dict']


def sigkill_after_first_checkpoint(cmd, work_dir, log, timeout=240,
                                   env=None):
    """Start training ``cmd`` (writing to ``work_dir``) in its own process
    group, SIGKILL the whole group (a launcher and its workers) as soon as
    ``work_dir/last_checkpoint`` appears, and return the launched process's
    exit code (``-SIGKILL`` when the kill landed before it finished)."""
    import signal
    import time
    last = osp.join(str(work_dir), 'last_checkpoint')
    with open(log, 'w') as f:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env or launch_env(),
                                stdout=f, stderr=subprocess.STDOUT,
                                start_new_session=True)
        deadline = time.time() + timeout
        while not osp.exists(last) and proc.poll() is None:
            if time.time() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                raise AssertionError(f'no checkpoint appeared in {work_dir}')
            time.sleep(0.02)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    return proc.returncode


def _run_then_exit(rank, worker, port, out):
    worker(rank, port, out)
    # skip interpreter shutdown: a finished worker with gloo / DeepSpeed
    # threads sometimes took ~30 s to exit there, which mp.spawn waits for
    os._exit(0)


def spawn_two_ranks(worker, tmp_path):
    """Run ``worker(rank, port, out)`` in 2 spawned processes (each starts
    its own gloo group on ``port``; rank 0 saves its results to ``out``
    with ``torch.save``) and return those results."""
    import torch
    import torch.multiprocessing as mp
    out = str(tmp_path / 'results.pt')
    mp.spawn(_run_then_exit, args=(worker, free_port(), out), nprocs=2,
             join=True)
    return torch.load(out, weights_only=False)
