"""Test (evaluate) a unidense checkpoint (mmsegmentation 1.x argument set).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE.json]
        [--show-dir DIR] [--trust-checkpoint] [--cfg-options k=v ...]
        [--launcher pytorch]

Multi-process: ``bash tools/dist_test.sh CONFIG CHECKPOINT N [args]``.
"""
import argparse
import json
import os.path as osp
import sys
import warnings

_REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(1, _REPO)

from mmengine.config import Config  # noqa: E402
from mmengine.dist import get_rank  # noqa: E402
from mmengine.logging import print_log  # noqa: E402

from unidense.utils.checkpoint_io import write_text_atomic  # noqa: E402
from unidense.utils.runner_cli import (add_runner_arguments,  # noqa: E402
                                       build_runner, load_runner_config,
                                       parse_runner_args)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a unidense model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint file (.pth written by unidense, or '
                        '.safetensors); none: the config\'s own weights '
                        '(e.g. a frozen pretrained generator)')
    parser.add_argument(
        '--out', help='write the metrics to this JSON file (rank 0)')
    parser.add_argument(
        '--show', action='store_true', help='show predictions in a window')
    parser.add_argument(
        '--show-dir',
        help='save drawn predictions into this directory (enables '
        'default_hooks.visualization)')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    add_runner_arguments(parser, 'test_dataloader.batch_size=2')
    return parse_runner_args(parser, argv)


def enable_visualization(cfg, args) -> None:
    """Switch on drawing in ``default_hooks.visualization`` (mmseg style)."""
    hooks = cfg.get('default_hooks', None) or {}
    vis = hooks.get('visualization', None)
    if vis is None:
        warnings.warn(
            '--show/--show-dir ignored: the config has no '
            'default_hooks.visualization (e.g. DenseVisualizationHook), so '
            'nothing would draw the predictions.', stacklevel=2)
        return
    vis['draw'] = True
    if args.show:
        vis['show'] = True
        vis['wait_time'] = args.wait_time
    if args.show_dir:
        vis['show_dir'] = args.show_dir


def build_cfg(args) -> Config:
    cfg = load_runner_config(args)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.show or args.show_dir:
        enable_visualization(cfg, args)
    return cfg


def _jsonable(value):
    if hasattr(value, 'tolist'):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def main(argv=None):
    args = parse_args(argv)
    cfg = build_cfg(args)
    metrics = build_runner(cfg).test()
    if args.out and get_rank() == 0:
        write_text_atomic(
            args.out, json.dumps(_jsonable(metrics), indent=2) + '\n')
        print_log(f'metrics written to {args.out}', logger='current')
    return metrics


if __name__ == '__main__':
    main()
    # a finished distributed run leaves without the interpreter's teardown,
    # which sometimes aborts a gloo rank after the work is done
    from unidense.utils.dist_env import exit_process_group_run
    exit_process_group_run()
