"""Train a unidense model (mmsegmentation 1.x argument set).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--trust-checkpoint] [--cfg-options k=v ...] [--launcher pytorch]

Multi-process: ``bash tools/dist_train.sh CONFIG N [args]`` (CPU: gloo,
GPU: NCCL).
"""
import argparse
import logging
import os
import os.path as osp
import sys

# Make the repository importable when run as ``python tools/train.py`` so
# that configs can ``custom_imports`` helpers that live next to unidense.
_REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(1, _REPO)

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from unidense.registry import RUNNERS  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a unidense model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
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
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='allow unpickling checkpoints that unidense did not write '
        '(pickles can run arbitrary code; only for files you trust)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, e.g. '
        'train_dataloader.batch_size=2 "key=[a,b]"')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch>=2.0 passes --local-rank; keep both spellings.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_cfg(args) -> Config:
    """Config after applying the command line (split out for tests)."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

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

    if args.trust_checkpoint:
        cfg.trust_checkpoint = True
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = build_cfg(args)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
