"""Convert a released MERGE converter folder to a unidense checkpoint.

The official checkpoints (``hongk1998/merge-base-depth-v1``,
``hongk1998/merge-large-depth-v1``) hold only the converters, saved with
diffusers' ``save_pretrained`` in ``depth_converters/``::

    depth_converters/config.json
    depth_converters/diffusion_pytorch_model.safetensors

MERGE-B (``xTransformerModel(is_converter=True)``) and MERGE-L
(``xFluxTransformer2DModel(merge_flux_transformer=True)``) keys are mapped to
the state-dict keys of unidense's :class:`MERGE` estimator
(``fusion.<GroupedConverters key>``)::

    B: pos_embed.proj.*                  -> fusion.patch_embed.proj.*
       transformer_blocks.<g>.*          -> fusion.converters.<g>.*
       scale_shift_table, proj_out.*     -> fusion.head.*
    L: x_embedder.*                      -> fusion.x_embedder.*
       single_transformer_blocks_in_dual.<g>.* -> fusion.dual_converters.<g>.*
       single_transformer_blocks.<g>.*   -> fusion.single_converters.<g>.*
       norm_out.*, proj_out.*            -> fusion.head.*

The output is a safetensors file marked as trainable-only (the frozen
PixArt / FLUX weights come from the config's ``from_pretrained``) plus a
``.json`` with the source config, so that::

    python tools/model_converters/merge_official.py \\
        merge-base-depth-v1 work_dirs/merge_b_official.safetensors
    python tools/test.py configs/merge/pixart_depth.py \\
        work_dirs/merge_b_official.safetensors

Usage: ``merge_official.py SRC OUT [--variant auto|base|large]`` where SRC is
the checkpoint folder (with ``depth_converters/``) or ``depth_converters/``
itself.
"""
import argparse
import json
import os
import os.path as osp
import re
import sys
from collections import OrderedDict

WEIGHT_NAMES = ('diffusion_pytorch_model.safetensors', 'model.safetensors')
BIN_NAME = 'diffusion_pytorch_model.bin'

BASE_RULES = [
    (r'^pos_embed\.proj\.(.+)$', r'patch_embed.proj.\1'),
    (r'^transformer_blocks\.(\d+)\.(.+)$', r'converters.\1.\2'),
    (r'^scale_shift_table$', r'head.scale_shift_table'),
    (r'^proj_out\.(.+)$', r'head.proj_out.\1'),
]
LARGE_RULES = [
    (r'^x_embedder\.(.+)$', r'x_embedder.\1'),
    (r'^single_transformer_blocks_in_dual\.(\d+)\.(.+)$',
     r'dual_converters.\1.\2'),
    (r'^single_transformer_blocks\.(\d+)\.(.+)$', r'single_converters.\1.\2'),
    (r'^norm_out\.(.+)$', r'head.norm_out.\1'),
    (r'^proj_out\.(.+)$', r'head.proj_out.\1'),
]


def find_converter_dir(src: str) -> str:
    """``src`` itself or its ``depth_converters`` sub-folder."""
    for cand in (osp.join(src, 'depth_converters'), src):
        if osp.isfile(osp.join(cand, 'config.json')):
            return cand
    raise FileNotFoundError(
        f'merge_official: no config.json in {src} or '
        f'{osp.join(src, "depth_converters")}; pass the folder of the '
        f'released checkpoint (e.g. a local copy of '
        f'hongk1998/merge-base-depth-v1)')


def detect_variant(config: dict) -> str:
    if config.get('merge_flux_transformer') or 'Flux' in str(
            config.get('_class_name', '')):
        return 'large'
    if config.get('is_converter') or 'xTransformer' in str(
            config.get('_class_name', '')):
        return 'base'
    raise ValueError(
        'merge_official: cannot tell MERGE-B from MERGE-L from config.json '
        f'(_class_name={config.get("_class_name")!r}); pass --variant')


def load_official_state(folder: str):
    for name in WEIGHT_NAMES:
        path = osp.join(folder, name)
        if osp.isfile(path):
            from safetensors.torch import load_file
            return load_file(path)
    if osp.isfile(osp.join(folder, BIN_NAME)):
        raise ValueError(
            f'merge_official: {osp.join(folder, BIN_NAME)} is a pickle; '
            f'unidense converts only safetensors releases (pickles can run '
            f'code). Re-save it as safetensors first.')
    raise FileNotFoundError(f'merge_official: no {WEIGHT_NAMES[0]} in '
                            f'{folder}')


def convert_state_dict(state: dict, variant: str,
                       prefix: str = 'fusion.') -> 'OrderedDict':
    """Official converter keys -> unidense MERGE keys.

    Raises:
        KeyError: on a key no rule maps (naming it), so that a changed
            release layout is not silently half-loaded.
    """
    rules = BASE_RULES if variant == 'base' else LARGE_RULES
    out = OrderedDict()
    unknown = []
    for key, value in state.items():
        for pattern, repl in rules:
            if re.match(pattern, key):
                out[prefix + re.sub(pattern, repl, key)] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise KeyError(f'merge_official: {len(unknown)} key(s) of the '
                       f'{variant} converter have no mapping, e.g. '
                       f'{unknown[:5]}')
    return out


def expected_layout(config: dict, variant: str) -> dict:
    """What the unidense config must use to receive these weights."""
    if variant == 'base':
        return dict(num_groups=int(config['num_layers']),
                    in_channels=int(config.get('in_channels', 8)),
                    ff_ratio=float(config.get('ff_mult', 1)))
    n = int(config['num_single_layers'])
    return dict(num_groups=(n, n), in_channels=int(config['in_channels']))


def convert(src: str, out: str, variant: str = 'auto') -> dict:
    """Convert ``src`` and write ``out`` (+ ``out`` with ``.json``).

    Returns the json meta written next to the weights.
    """
    from safetensors.torch import save_file
    folder = find_converter_dir(src)
    with open(osp.join(folder, 'config.json')) as f:
        config = json.load(f)
    if variant == 'auto':
        variant = detect_variant(config)
    if variant not in ('base', 'large'):
        raise ValueError(f'merge_official: variant={variant!r}, expected '
                         f"'auto', 'base' or 'large'")
    state = convert_state_dict(load_official_state(folder), variant)
    if not out.endswith('.safetensors'):
        raise ValueError(f'merge_official: OUT must end with .safetensors, '
                         f'got {out}')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, out,
              metadata=dict(unidense_trainable_only='true',
                            source='MERGE official depth_converters',
                            variant=variant))
    meta = dict(source=osp.abspath(folder), variant=variant,
                num_tensors=len(state),
                num_params=int(sum(v.numel() for v in state.values())),
                fusion=expected_layout(config, variant),
                official_config=config)
    with open(out[:-len('.safetensors')] + '.json', 'w') as f:
        json.dump(meta, f, indent=2, sort_keys=True)
    return meta


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert a released MERGE depth_converters folder to a '
        'unidense (trainable-only) safetensors checkpoint.')
    parser.add_argument('src', help='checkpoint folder (with '
                        'depth_converters/) or depth_converters/ itself')
    parser.add_argument('out', help='output .safetensors path')
    parser.add_argument('--variant', default='auto',
                        choices=['auto', 'base', 'large'],
                        help='MERGE-B (PixArt) or MERGE-L (FLUX); auto '
                        'reads config.json')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    meta = convert(args.src, args.out, args.variant)
    name = 'MERGE-B' if meta['variant'] == 'base' else 'MERGE-L'
    print(f'wrote {args.out}: {name}, {meta["num_tensors"]} tensors, '
          f'{meta["num_params"]:,} parameters; fusion settings '
          f'{meta["fusion"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
