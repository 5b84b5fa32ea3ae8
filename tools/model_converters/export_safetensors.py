"""Export the weights of a unidense checkpoint to safetensors.

    python tools/model_converters/export_safetensors.py CKPT OUT.safetensors
        [--key state_dict|ema_state_dict] [--trust-checkpoint]

Training checkpoints (``*.pth``) hold weights, optimizer, schedulers and loop
state; the exported file holds only the chosen weights (DDP ``module.``
prefixes removed) and loads anywhere with ``safetensors.torch.load_file``
without unpickling. Checkpoints unidense did not write need
``--trust-checkpoint``.
"""
import argparse
import os.path as osp
import sys

_REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if _REPO not in sys.path:
    sys.path.insert(1, _REPO)

from unidense.utils.checkpoint_io import (export_safetensors,  # noqa: E402
                                          load_safetensors)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export checkpoint weights to safetensors')
    parser.add_argument('checkpoint', help='input checkpoint (.pth)')
    parser.add_argument('out', help='output file (.safetensors)')
    parser.add_argument(
        '--key',
        default='state_dict',
        help="which weights to export: 'state_dict' (default) or e.g. "
        "'ema_state_dict'")
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='allow unpickling a checkpoint that unidense did not write')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out = export_safetensors(
        args.checkpoint, args.out, key=args.key,
        trust_checkpoint=args.trust_checkpoint)
    n = len(load_safetensors(out))
    print(f'exported {n} tensors ({args.key}) from {args.checkpoint} '
          f'to {out}')


if __name__ == '__main__':
    main()
