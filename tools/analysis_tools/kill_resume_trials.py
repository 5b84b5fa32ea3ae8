"""Kill-and-resume trials: SIGKILL a training at a random iteration, resume
it with ``--resume``, and compare its final weights with an uninterrupted
run of the same config.

    python tools/analysis_tools/kill_resume_trials.py CONFIG [--trials 10]
        [--iters 12] [--seed 0] [--work-dir DIR] [--cfg-options k=v ...]

Checkpoints are written every iteration; each trial waits for checkpoint k
(k drawn uniformly from 1 .. iters - 1 with ``--seed``) to appear, kills
the process with SIGKILL at once (so the kill lands anywhere in iteration
k + 1, including mid-save), resumes, and compares every saved weight with
the uninterrupted run's (max abs diff). Prints ``name=value`` lines:
``trials``, ``passed``, ``max_abs_diff``, ``kill_iterations`` and per-trial
lines; exits 1 if a trial differs by more than ``--tol``.
"""
import argparse
import os
import os.path as osp
import random
import shutil
import signal
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(1, REPO)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--trials', type=int, default=10)
    parser.add_argument('--iters', type=int, default=12)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--tol', type=float, default=0.0)
    parser.add_argument('--timeout', type=float, default=600)
    parser.add_argument('--work-dir', default=osp.join(
        REPO, 'work_dirs', 'kill_resume'))
    parser.add_argument('--cfg-options', nargs='*', default=[])
    return parser.parse_args(argv)


def _env():
    from tools.analysis_tools.tool_runs import tool_env
    return tool_env()


def _train_cmd(args, work_dir, resume=False):
    opts = [f'train_cfg.max_iters={args.iters}',
            f'train_cfg.val_interval={args.iters + 1}',
            'default_hooks.checkpoint.interval=1',
            f'default_hooks.checkpoint.max_keep_ckpts={args.iters}',
            'default_hooks.logger.interval=1'] + list(args.cfg_options)
    return ([sys.executable, osp.join(REPO, 'tools', 'train.py'),
             args.config, '--work-dir', work_dir] +
            (['--resume'] if resume else []) + ['--cfg-options'] + opts)


def _run(cmd, log, timeout):
    from tools.analysis_tools.tool_runs import run_logged
    run_logged(cmd, log, timeout=timeout)


def kill_at_checkpoint(cmd, work_dir, iteration, log, timeout):
    """Start ``cmd``; SIGKILL it once ``iter_<iteration>.pth`` exists.
    Returns True if the kill landed before the run finished."""
    target = osp.join(work_dir, f'iter_{iteration}.pth')
    with open(log, 'w') as f:
        proc = subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=f,
                                stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while not osp.exists(target) and proc.poll() is None:
            if time.time() > deadline:
                proc.kill()
                raise RuntimeError(f'{target} never appeared (log: {log})')
            time.sleep(0.01)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return proc.returncode == -signal.SIGKILL


def final_weights(work_dir, iters):
    from unidense.utils.checkpoint_io import load_checkpoint_safe
    return load_checkpoint_safe(
        osp.join(work_dir, f'iter_{iters}.pth'))['state_dict']


def max_abs_diff(a, b):
    if sorted(a) != sorted(b) or not a:
        raise RuntimeError('the runs saved different (or no) weights')
    return max((a[k].double() - b[k].double()).abs().max().item()
               for k in a)


def main(argv=None):
    args = parse_args(argv)
    root = osp.abspath(args.work_dir)
    if osp.isdir(root):
        shutil.rmtree(root)
    os.makedirs(root)
    ref_dir = osp.join(root, 'uninterrupted')
    _run(_train_cmd(args, ref_dir), osp.join(root, 'uninterrupted.log'),
         args.timeout)
    reference = final_weights(ref_dir, args.iters)
    rng = random.Random(args.seed)
    diffs, kills = [], []
    for trial in range(args.trials):
        work = osp.join(root, f'trial_{trial}')
        k = rng.randint(1, args.iters - 1)
        landed = kill_at_checkpoint(_train_cmd(args, work), work, k,
                                    osp.join(root, f'trial_{trial}.log'),
                                    args.timeout)
        _run(_train_cmd(args, work, resume=True),
             osp.join(root, f'trial_{trial}_resume.log'), args.timeout)
        diff = max_abs_diff(reference, final_weights(work, args.iters))
        diffs.append(diff)
        kills.append(k if landed else f'{k}(finished)')
        print(f'trial_{trial}=killed_after_checkpoint_{k} landed={landed} '
              f'max_abs_diff={diff:.3g}', flush=True)
    passed = sum(d <= args.tol for d in diffs)
    print(f'config={args.config}')
    print(f'trials={args.trials}')
    print(f'passed={passed}')
    print(f'max_abs_diff={max(diffs):.3g}')
    print(f'kill_iterations={kills}')
    return 0 if passed == args.trials else 1


if __name__ == '__main__':
    sys.exit(main())
