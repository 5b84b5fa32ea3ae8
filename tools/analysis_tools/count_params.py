"""Count the parameters of a config's model, optionally without weights.

    python tools/analysis_tools/count_params.py CONFIG [--device meta|cpu]
        [--key model] [--cfg-options k=v ...]

With ``--device meta`` (default) the model is built inside
``unidense.diffusion.meta_device_build()``: every diffusers/transformers part
is built from its inline ``config`` on the meta device, so full-size models
(SD, PixArt, FLUX) need neither weights nor memory nor network. Prints one
row per top-level child and ends with the line
``total=<int> trainable=<int> frozen=<int>``.
"""
import argparse
import os
import os.path as osp
import sys

os.environ.setdefault('HF_HUB_OFFLINE', '1')
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--device', default='meta', choices=['meta', 'cpu'],
                        help='meta: no weights (default); cpu: real build')
    parser.add_argument('--key', default='model',
                        help='config variable to build (default: model)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    return parser.parse_args(argv)


def count_parameters(module):
    """Return ``(total, trainable, frozen)`` over unique parameters."""
    seen, total, trainable = set(), 0, 0
    for p in module.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return total, trainable, total - trainable


def build_model(cfg_model, device='meta'):
    """Build a model config with MODELS (scope unidense)."""
    from unidense.diffusion import meta_device_build
    from unidense.registry import MODELS
    if device == 'meta':
        with meta_device_build():
            return MODELS.build(cfg_model)
    return MODELS.build(cfg_model)


def table_rows(model):
    """``[(name, type, total, trainable, frozen)]`` for top-level children."""
    rows = []
    for name, child in model.named_children():
        if child is None:
            continue
        rows.append((name, type(child).__name__, *count_parameters(child)))
    own = [p for n, p in model.named_parameters(recurse=False)]
    if own:
        n = sum(p.numel() for p in own)
        t = sum(p.numel() for p in own if p.requires_grad)
        rows.append(('(own)', '', n, t, n - t))
    return rows


def main(argv=None):
    from mmengine.config import Config
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.key not in cfg:
        raise SystemExit(f'count_params: {args.config} has no `{args.key}`')
    model = build_model(cfg[args.key], args.device)
    rows = table_rows(model)
    header = ['child', 'type', 'total', 'trainable', 'frozen']
    lines = [header] + [[str(r[0]), str(r[1])] + [f'{v:,}' for v in r[2:]]
                        for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    if rows:
        for line in lines:
            print('  '.join(c.ljust(w) for c, w in zip(line, widths)))
    total, trainable, frozen = count_parameters(model)
    print(f'model: {type(model).__name__}  ({total / 1e6:.1f}M parameters, '
          f'device {args.device})')
    print(f'total={total} trainable={trainable} frozen={frozen}')
    return total, trainable, frozen


if __name__ == '__main__':
    main()
