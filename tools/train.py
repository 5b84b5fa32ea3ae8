"""Train a unidense model (mmsegmentation 1.x argument set).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--trust-checkpoint] [--cfg-options k=v ...] [--launcher pytorch]

Multi-process: ``bash tools/dist_train.sh CONFIG N [args]`` (CPU: gloo,
GPU: NCCL).
"""
import argparse
import logging
import os.path as osp
import sys

# Make the repository importable when run as ``python tools/train.py`` so
# that configs can ``custom_imports`` helpers that live next to unidense.
_REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(1, _REPO)

from mmengine.config import Config  # noqa: E402
from mmengine.logging import print_log  # noqa: E402

from unidense.utils.runner_cli import (add_runner_arguments,  # noqa: E402
                                       build_runner, load_runner_config,
                                       parse_runner_args)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a unidense model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the latest checkpoint in the work dir (no value) '
        'or from the given checkpoint file')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='mixed precision: AmpOptimWrapper on CUDA, bfloat16 autocast on '
        'CPU')
    add_runner_arguments(
        parser, 'train_dataloader.batch_size=2 "key=[a,b]"')
    return parse_runner_args(parser, argv)


def build_cfg(args) -> Config:
    """Config after applying the command line (split out for tests)."""
    cfg = load_runner_config(args)
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper in ('AmpOptimWrapper', 'AutocastOptimWrapper'):
            print_log(f'AMP is already enabled ({wrapper}) in the config.',
                      logger='current', level=logging.WARNING)
        else:
            if wrapper != 'OptimWrapper':
                raise ValueError(
                    f'--amp needs optim_wrapper.type OptimWrapper, but '
                    f'{args.config} uses {wrapper!r}')
            # UnidenseRunner turns this into bf16 autocast when no CUDA.
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = build_cfg(args)
    build_runner(cfg).train()


if __name__ == '__main__':
    main()
    # a finished distributed run leaves without the interpreter's teardown,
    # which sometimes aborts a gloo rank after the work is done
    from unidense.utils.dist_env import exit_process_group_run
    exit_process_group_run()
