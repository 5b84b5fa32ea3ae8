"""Convert a released JointNet folder to a unidense checkpoint.

The official models (``rgbd_finetune_sd21b``, ``rgbd_inpaint_sd21b``,
apple/ml-jointnet) are two diffusers folders written by ``JointNetModel``
(a ``UNet2DConditionModel`` subclass, diffusers 0.19.3)::

    <model>/unet/config.json              RGB branch
    <model>/unet/diffusion_pytorch_model.{bin,safetensors}
    <model>/jointnet/...                  joint (depth) branch

Each holds the stock UNet keys plus ``jointnet_*`` keys, mapped to the
:class:`JointNet` estimator (``--modality depth``)::

    unet/<UNet key>                   -> backbone.unet.<key>
    jointnet/<UNet key>               -> fusion.branches.depth.unet.<key>
    unet/jointnet_rgb_in_trans        -> fusion.links.depth_to_rgb.input_conv
    unet/jointnet_down_blocks.<i>     -> fusion.links.rgb_to_depth
                                         .skip_convs.<i>
    unet/jointnet_mid_block           -> fusion.links.rgb_to_depth.mid_conv
    jointnet/jointnet_rgb_in_trans    -> fusion.links.rgb_to_depth.input_conv
    jointnet/jointnet_down_blocks.<i> -> fusion.links.depth_to_rgb
                                         .skip_convs.<i>
    jointnet/jointnet_mid_block       -> fusion.links.depth_to_rgb.mid_conv
    unet/jointnet_masked_latent_conv  -> fusion.mask_convs.rgb
    jointnet/jointnet_masked_latent_conv -> fusion.mask_convs.depth

(``jointnet_rgb_in_trans`` of a branch acts on the *other* branch's latent
and feeds its own; ``jointnet_down_blocks`` / ``mid_block`` act on its own
features and feed the other branch.)

Rules of the brief (§3.4): a null ``joint_in_channels`` means
``in_channels``; masked input is decided by the presence and shape of
``jointnet_masked_latent_conv.weight`` (the saved flag lies when the conv
was added by ``extend_masked_latent_conv()``), and both branches must
agree; the UNet keys must load strictly into a stock
``UNet2DConditionModel`` built from the config without the extra keys
(checked on the meta device); ``.bin`` files load with
``weights_only=True``.

The output is one safetensors file with every branch (the released RGB
UNet is fine-tuned in stage 2, so it is not SD-2.1's) plus a ``.json`` with
the cleaned UNet config and the fusion settings::

    python tools/model_converters/jointnet_official.py \\
        rgbd_inpaint_sd21b work_dirs/jointnet_inpaint_official.safetensors
    python tools/test.py configs/jointnet/sd21_rgbd_inpaint.py \\
        work_dirs/jointnet_inpaint_official.safetensors \\
        --cfg-options model.depth_guidance_scale=7.5

(the released model learnt MiDaS disparity: the full configs evaluate with
``alignment='least_squares_disparity'``).
"""
import argparse
import json
import os
import os.path as osp
import re
import sys
import warnings
from collections import OrderedDict

BRANCH_DIRS = ('unet', 'jointnet')
WEIGHT_NAMES = ('diffusion_pytorch_model.safetensors',
                'diffusion_pytorch_model.bin')
EXTRA_CONFIG_KEYS = ('joint_in_channels', 'has_masked_latent_input',
                     '_class_name', '_diffusers_version', '_name_or_path')
MASK_KEY = 'jointnet_masked_latent_conv.weight'


def find_model_dir(src: str) -> str:
    """``src`` or its single sub-folder holding ``unet/`` + ``jointnet/``
    (an unzipped release may have a top-level folder)."""
    cands = [src] + sorted(
        osp.join(src, d) for d in (os.listdir(src) if osp.isdir(src) else [])
        if osp.isdir(osp.join(src, d)))
    for cand in cands:
        if all(osp.isfile(osp.join(cand, b, 'config.json'))
               for b in BRANCH_DIRS):
            return cand
    raise FileNotFoundError(
        f'jointnet_official: no unet/config.json + jointnet/config.json in '
        f'{src} (or a sub-folder); pass the unzipped release folder, e.g. '
        f'rgbd_finetune_sd21b')


def load_branch(folder: str):
    """(config dict, state dict) of one branch folder."""
    with open(osp.join(folder, 'config.json')) as f:
        config = json.load(f)
    for name in WEIGHT_NAMES:
        path = osp.join(folder, name)
        if not osp.isfile(path):
            continue
        if name.endswith('.safetensors'):
            from safetensors.torch import load_file
            return config, load_file(path)
        import torch
        # a pickle: tensors only, no code (brief §3.4 rule 7)
        return config, torch.load(path, map_location='cpu',
                                  weights_only=True)
    names = ' or '.join(WEIGHT_NAMES)
    raise FileNotFoundError(f'jointnet_official: no {names} in {folder}')


def clean_unet_config(config: dict) -> dict:
    """The stock ``UNet2DConditionModel`` config (extra keys dropped;
    ``joint_in_channels`` must equal ``in_channels``)."""
    joint_in = config.get('joint_in_channels')
    if joint_in not in (None, config['in_channels']):
        raise NotImplementedError(
            f'jointnet_official: joint_in_channels={joint_in} differs from '
            f'in_channels={config["in_channels"]}; unidense links latents of '
            f'equal width')
    return {k: v for k, v in config.items() if k not in EXTRA_CONFIG_KEYS}


def masked_input_of(configs, states) -> bool:
    """Masked input from the weights (rule 2), both branches agreeing."""
    found = []
    for name, config, state in zip(BRANCH_DIRS, configs, states):
        weight = state.get(MASK_KEY)
        expect = 2 * (1 + config['in_channels'])
        if weight is not None and weight.shape[1] != expect:
            raise ValueError(f'jointnet_official: {name}/{MASK_KEY} has '
                             f'{weight.shape[1]} input channels, expected '
                             f'{expect}')
        flag = bool(config.get('has_masked_latent_input'))
        if flag != (weight is not None):
            state_word = 'hold' if weight is not None else 'lack'
            warnings.warn(
                f'jointnet_official: {name}/config.json says '
                f'has_masked_latent_input={flag} but the weights '
                f'{state_word} the mask conv (the released FrozenDict '
                f'quirk); following the weights')
        found.append(weight is not None)
    if found[0] != found[1]:
        raise ValueError('jointnet_official: only one branch has the masked '
                         'latent conv; the official pipeline needs both')
    return found[0]


def convert_state_dicts(rgb_state: dict, joint_state: dict,
                        modality: str = 'depth') -> 'OrderedDict':
    """Official branch state dicts -> JointNet estimator keys.

    Raises:
        KeyError: on a ``jointnet_*`` key no rule maps.
    """
    to_m, from_m = f'rgb_to_{modality}', f'{modality}_to_rgb'
    rules = {
        'unet': [(r'^jointnet_rgb_in_trans\.', f'links.{from_m}.input_conv.'),
                 (r'^jointnet_down_blocks\.', f'links.{to_m}.skip_convs.'),
                 (r'^jointnet_mid_block\.', f'links.{to_m}.mid_conv.'),
                 (r'^jointnet_masked_latent_conv\.', 'mask_convs.rgb.')],
        'jointnet': [
            (r'^jointnet_rgb_in_trans\.', f'links.{to_m}.input_conv.'),
            (r'^jointnet_down_blocks\.', f'links.{from_m}.skip_convs.'),
            (r'^jointnet_mid_block\.', f'links.{from_m}.mid_conv.'),
            (r'^jointnet_masked_latent_conv\.', f'mask_convs.{modality}.')],
    }
    unet_prefix = dict(unet='backbone.unet.',
                       jointnet=f'fusion.branches.{modality}.unet.')
    out = OrderedDict()
    for branch, state in zip(BRANCH_DIRS, (rgb_state, joint_state)):
        for key, value in state.items():
            if not key.startswith('jointnet_'):
                out[unet_prefix[branch] + key] = value
                continue
            for pattern, repl in rules[branch]:
                if re.match(pattern, key):
                    out['fusion.' + re.sub(pattern, repl, key)] = value
                    break
            else:
                raise KeyError(f'jointnet_official: {branch}/{key} has no '
                               f'mapping')
    return out


def check_unet_keys(config: dict, state: dict, branch: str) -> int:
    """The non-``jointnet_`` keys equal a stock UNet's (names and shapes),
    built from ``config`` on the meta device; returns their number."""
    import torch
    from diffusers import UNet2DConditionModel
    with torch.device('meta'):
        ref = UNet2DConditionModel.from_config(config).state_dict()
    ours = {k: v for k, v in state.items() if not k.startswith('jointnet_')}
    missing = sorted(set(ref) - set(ours))
    unexpected = sorted(set(ours) - set(ref))
    shapes = [k for k in ref if k in ours and
              tuple(ref[k].shape) != tuple(ours[k].shape)]
    if missing or unexpected or shapes:
        raise ValueError(
            f'jointnet_official: {branch} does not load strictly into a '
            f'UNet2DConditionModel: missing {missing[:5]}, unexpected '
            f'{unexpected[:5]}, shape mismatch {shapes[:5]}')
    return len(ours)


def convert(src: str, out: str, modality: str = 'depth') -> dict:
    """Convert ``src`` and write ``out`` (+ ``out`` with ``.json``)."""
    from safetensors.torch import save_file
    if not out.endswith('.safetensors'):
        raise ValueError(f'jointnet_official: OUT must end with '
                         f'.safetensors, got {out}')
    folder = find_model_dir(src)
    (rgb_cfg, rgb_state), (joint_cfg, joint_state) = (
        load_branch(osp.join(folder, b)) for b in BRANCH_DIRS)
    unet_cfg = clean_unet_config(rgb_cfg)
    if clean_unet_config(joint_cfg) != unet_cfg:
        raise ValueError('jointnet_official: unet/ and jointnet/ have '
                         'different UNet configs')
    masked = masked_input_of((rgb_cfg, joint_cfg), (rgb_state, joint_state))
    num_unet_keys = [check_unet_keys(unet_cfg, s, b) for b, s in
                     zip(BRANCH_DIRS, (rgb_state, joint_state))]
    state = convert_state_dicts(rgb_state, joint_state, modality)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, out,
              metadata=dict(source='JointNet official (apple/ml-jointnet)',
                            modality=modality,
                            masked_input=str(masked).lower()))
    meta = dict(source=osp.abspath(folder), num_tensors=len(state),
                num_params=int(sum(v.numel() for v in state.values())),
                num_unet_keys=num_unet_keys,
                fusion=dict(type='ZeroConvExchange', modalities=[modality],
                            masked_input=masked),
                unet_config=unet_cfg)
    with open(out[:-len('.safetensors')] + '.json', 'w') as f:
        json.dump(meta, f, indent=2, sort_keys=True)
    return meta


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert a released JointNet folder (unet/ + jointnet/) '
        'to a unidense safetensors checkpoint.')
    parser.add_argument('src', help='unzipped release folder')
    parser.add_argument('out', help='output .safetensors path')
    parser.add_argument('--modality', default='depth',
                        help='name of the joint branch (depth or normal)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    meta = convert(args.src, args.out, args.modality)
    print(f'wrote {args.out}: {meta["num_tensors"]} tensors, '
          f'{meta["num_params"]:,} parameters; fusion {meta["fusion"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
