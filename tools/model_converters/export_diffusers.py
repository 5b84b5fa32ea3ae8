"""Export a trained MERGE as a from_pretrained-style folder.

    python tools/model_converters/export_diffusers.py CONFIG CKPT OUT_DIR
        [--set NAME=CKPT[@TASK] ...] [--name default] [--metrics test_out.json]
        [--protocol TEXT]

``OUT_DIR`` gets the model config (the frozen base referenced by hub id or
path, never copied), one ``converters/<name>.safetensors`` per converter
set (``CKPT`` as ``--name``, each ``--set``), ``unidense_model.json`` and a
model card ``README.md`` (base model, task, training data and, with
``--metrics``, the figures of a ``tools/test.py --out`` JSON with their
protocol). Load it with ``unidense.apis.init_model(OUT_DIR)``; switch sets
with ``model.set_mode(NAME)`` and to text-to-image with
``model.set_mode('t2i')``.
"""
import argparse
import json
import os.path as osp
import sys

_REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if _REPO not in sys.path:
    sys.path.insert(1, _REPO)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out_dir')
    parser.add_argument('--name', default='default',
                        help='name of the checkpoint\'s converter set')
    parser.add_argument('--set', action='append', default=[],
                        metavar='NAME=CKPT[@TASK]',
                        help="another converter set; TASK 'depth' or "
                        "'normal' (default: the config's model.task)")
    parser.add_argument('--metrics', help='a tools/test.py --out JSON')
    parser.add_argument('--protocol', help='how the metrics were measured')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config

    from unidense.apis.pretrained_folder import save_pretrained_folder
    sets, tasks = {args.name: args.checkpoint}, {}
    for spec in args.set:
        name, sep, path = spec.partition('=')
        if not sep or not name or not path:
            raise SystemExit(f'--set {spec!r}: expected NAME=CKPT[@TASK]')
        if '@' in path:
            path, tasks[name] = path.rsplit('@', 1)
        sets[name] = path
    for name, path in sets.items():
        if not osp.isfile(path):
            raise SystemExit(f'converter set {name!r}: no such checkpoint '
                             f'{path}')
    metrics = None
    if args.metrics:
        with open(args.metrics) as f:
            metrics = json.load(f)
    cfg = Config.fromfile(args.config)
    folder = save_pretrained_folder(cfg, sets, args.out_dir,
                                    default=args.name, tasks=tasks,
                                    metrics=metrics,
                                    protocol=args.protocol)
    print(f'exported {sorted(sets)} to {folder}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
