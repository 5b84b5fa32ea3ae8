"""Make the MERGE-B converter fixture by running the *official* code.

Not part of unidense: run it in a throw-away environment with the released
code (https://github.com/H-EmbodVis/MERGE, its pinned diffusers 0.32.1) on
the path::

    python -m venv /tmp/merge_venv
    /tmp/merge_venv/bin/pip install --no-deps diffusers==0.32.1 \\
        huggingface_hub==0.26.5      # torch, einops, ... from any env
    /tmp/merge_venv/bin/python tests/data/merge_official/make_fixture.py \\
        --official /path/to/MERGE --out tests/data/merge_official

What it does, with the official classes only:

1. a tiny diffusers ``PixArtTransformer2DModel`` (2 blocks; the official
   ``xTransformerModel`` hard-codes the 1152 width, so the width is real),
   saved and loaded back as the official frozen ``xTransformerModel``;
2. the converters exactly as ``merge/train_merge_base_depth.py`` builds
   them (``xTransformerModel.from_transformer(..., is_converter=True,
   num_layers=1, ff_mult=1, cross_attention_dim=None)`` then
   ``_replace_in_out_proj_conv()``);
3. every weight of both set to :func:`fixture_tensor` of its official key
   (seeded by the key, so the test rebuilds them without storing ~200 MB);
4. ``MERGEPixArtTransformer(fixed, converters).eval()`` in depth mode on
   seeded inputs.

Written (small): ``fixture.json`` (the PixArt and converter configs, the
official key names and shapes, the inputs' seed) and ``output.pt`` (the
official depth-mode output). ``tests/test_tools/test_merge_official.py``
converts the regenerated official folder with
``tools/model_converters/merge_official.py`` and must reproduce the output.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import zlib

import torch

PIXART = dict(num_attention_heads=16, attention_head_dim=72, in_channels=4,
              out_channels=8, num_layers=2, sample_size=8,
              caption_channels=32, cross_attention_dim=1152,
              norm_type='ada_norm_single', norm_elementwise_affine=False,
              norm_eps=1e-6, attention_bias=True, patch_size=2,
              activation_fn='gelu-approximate', num_embeds_ada_norm=1000,
              use_additional_conditions=False)
CONVERTER = dict(num_layers=1, num_attention_heads=16, attention_head_dim=72,
                 cross_attention_dim=None, ff_mult=1)
INPUT_SEED = 7


def fixture_tensor(key: str, shape) -> torch.Tensor:
    """The value of weight ``key``: N(0, 0.02^2) from a generator seeded
    with crc32(key) (scale-like 1-D tensors around 1)."""
    gen = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    value = torch.randn(tuple(shape), generator=gen) * 0.02
    if key.endswith('norm.weight') or key.endswith('norm1.weight'):
        value += 1.0
    return value


def fixture_inputs():
    """(dense_hidden_states (1, 8, 8, 8) = [RGB latent, noisy depth],
    encoder_hidden_states (1, 6, 32), mask (1, 6), timestep (1,))."""
    gen = torch.Generator().manual_seed(INPUT_SEED)
    dense = torch.randn(1, 8, 8, 8, generator=gen)
    text = torch.randn(1, 6, PIXART['caption_channels'], generator=gen)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0]])
    return dense, text, mask, torch.tensor([500])


def _fill(module):
    with torch.no_grad():
        for key, tensor in module.state_dict().items():
            tensor.copy_(fixture_tensor(key, tensor.shape))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--official', required=True,
                        help='checkout of H-EmbodVis/MERGE')
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    sys.path.insert(0, osp.abspath(args.official))
    import diffusers
    from diffusers import PixArtTransformer2DModel
    from merge.pipeline.merge_transformer import (MERGEPixArtTransformer,
                                                 xTransformerModel)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        PixArtTransformer2DModel(**PIXART).save_pretrained(tmp)
        fixed = xTransformerModel.from_pretrained(tmp)
    _fill(fixed)
    converters = xTransformerModel.from_transformer(
        fixed, converter_init_type='pretrained',
        sample_size=fixed.config.sample_size, is_converter=True, GRE=True,
        **CONVERTER)
    converters._replace_in_out_proj_conv()
    _fill(converters)
    model = MERGEPixArtTransformer(fixed, converters).eval()
    dense, text, mask, t = fixture_inputs()
    with torch.no_grad():
        out = model(dense_hidden_states=dense, encoder_hidden_states=text,
                    timestep=t, encoder_attention_mask=mask,
                    added_cond_kwargs=dict(resolution=None,
                                           aspect_ratio=None))
    os.makedirs(args.out, exist_ok=True)
    record = dict(
        made_with=dict(diffusers=diffusers.__version__,
                       torch=torch.__version__,
                       official='H-EmbodVis/MERGE ' + os.environ.get(
                           'MERGE_COMMIT', 'unknown commit')),
        pixart=PIXART, converter=CONVERTER,
        converter_config=dict(converters.config),
        fixed_keys={k: list(v.shape) for k, v in fixed.state_dict().items()},
        converter_keys={k: list(v.shape)
                        for k, v in converters.state_dict().items()},
        input_seed=INPUT_SEED)
    with open(osp.join(args.out, 'fixture.json'), 'w') as f:
        json.dump(record, f, indent=1, default=str)
    torch.save(out.float().clone(), osp.join(args.out, 'output.pt'))
    print(f'official depth-mode output {tuple(out.shape)}, '
          f'|out| mean {out.abs().mean():.4f}; wrote {args.out}')


if __name__ == '__main__':
    main()
