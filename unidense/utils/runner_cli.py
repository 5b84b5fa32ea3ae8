"""Command-line pieces shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction


def add_runner_arguments(parser: argparse.ArgumentParser,
                         cfg_options_example: str) -> None:
    """The mmsegmentation options both tools take: ``--work-dir``,
    ``--trust-checkpoint``, ``--cfg-options``, ``--launcher`` and
    ``--local-rank``."""
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='allow unpickling checkpoints that unidense did not write '
        '(pickles can run arbitrary code; only for files you trust)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, e.g. ' + cfg_options_example)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch>=2.0 passes --local-rank; keep both spellings.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser: argparse.ArgumentParser, argv=None):
    """Parse, and export ``LOCAL_RANK`` for launchers that pass it as an
    argument only."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_runner_config(args) -> Config:
    """``args.config`` with the launcher, ``--cfg-options``, the work dir
    (CLI > config > ``./work_dirs/<config name>``) and
    ``--trust-checkpoint`` applied."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.trust_checkpoint:
        cfg.trust_checkpoint = True
    return cfg


def build_runner(cfg: Config):
    """``RUNNERS.build`` when the config names a ``runner_type`` (unidense's
    default runtime does), else mmengine's ``Runner.from_cfg``."""
    from mmengine.runner import Runner

    from unidense.registry import RUNNERS
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)
