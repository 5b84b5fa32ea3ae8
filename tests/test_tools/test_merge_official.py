"""tools/model_converters/merge_official.py on fabricated official folders.

The folders use the released layout (``depth_converters/config.json`` +
``diffusion_pytorch_model.safetensors``) with the official key names of
``xTransformerModel(is_converter=True)`` and
``xFluxTransformer2DModel(merge_flux_transformer=True)``, at tiny sizes.
"""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'model_converters', 'merge_official.py')
sys.path.insert(0, osp.join(REPO, 'tests', 'test_models', 'test_merge'))
from merge_tiny_parts import TINY_FLUX, tiny_merge_cfg  # noqa: E402


def _tool():
    spec = importlib.util.spec_from_file_location('merge_official', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# unidense GroupedConverters key -> official key (written from the official
# module attribute names, the inverse of the tool's mapping)
def _official_base_key(key):
    for ours, theirs in (('patch_embed.proj.', 'pos_embed.proj.'),
                         ('converters.', 'transformer_blocks.'),
                         ('head.', '')):
        if key.startswith(ours):
            return theirs + key[len(ours):]
    raise AssertionError(key)


def _official_large_key(key):
    for ours, theirs in (('dual_converters.',
                          'single_transformer_blocks_in_dual.'),
                         ('single_converters.', 'single_transformer_blocks.'),
                         ('x_embedder.', 'x_embedder.'), ('head.', '')):
        if key.startswith(ours):
            return theirs + key[len(ours):]
    raise AssertionError(key)


def _fabricate(folder, fusion, to_official, config):
    sub = osp.join(folder, 'depth_converters')
    import os
    os.makedirs(sub)
    gen = torch.Generator().manual_seed(3)
    state = {to_official(k): torch.randn(v.shape, generator=gen)
             for k, v in fusion.state_dict().items()}
    save_file(state, osp.join(sub, 'diffusion_pytorch_model.safetensors'))
    with open(osp.join(sub, 'config.json'), 'w') as f:
        json.dump(config, f)
    return state


def test_convert_base_and_load_into_tiny_merge(tmp_path):
    from unidense.registry import MODELS
    import unidense.models  # noqa: F401
    import unidense.diffusion  # noqa: F401
    model = MODELS.build(tiny_merge_cfg())
    official = _fabricate(
        str(tmp_path / 'merge-base'), model.fusion, _official_base_key,
        dict(_class_name='xTransformerModel', _diffusers_version='0.32.1',
             num_layers=2, ff_mult=1, cross_attention_dim=None,
             in_channels=8, out_channels=8, is_converter=True,
             num_attention_heads=2, attention_head_dim=8, patch_size=2,
             sample_size=4, norm_type='ada_norm_single'))
    # the official names really are the released module's
    assert 'transformer_blocks.1.attn1.to_q.weight' in official
    assert 'pos_embed.proj.weight' in official and 'proj_out.bias' in official
    out = str(tmp_path / 'merge_b.safetensors')
    proc = subprocess.run([sys.executable, TOOL, str(tmp_path / 'merge-base'),
                           out], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    meta = json.load(open(out[:-len('.safetensors')] + '.json'))
    assert meta['variant'] == 'base' and meta['fusion']['num_groups'] == 2

    from unidense.utils.checkpoint_io import load_checkpoint_safe
    ckpt = load_checkpoint_safe(out)
    assert ckpt['meta']['unidense']['trainable_only']
    result = model.load_state_dict(ckpt['state_dict'], strict=False)
    assert not result.unexpected_keys
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and not trainable & set(result.missing_keys)
    for name, value in model.fusion.state_dict().items():
        assert torch.equal(value, official[_official_base_key(name)]), name
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert model.estimate_depth(x).shape == (1, 1, 32, 32)


def test_convert_large_mapping_and_errors(tmp_path):
    from unidense.registry import MODELS
    import unidense.models  # noqa: F401
    from unidense.models.fusions import GroupedConverters
    bb = MODELS.build(dict(type='FluxDiT', transformer=dict(
        type='FluxTransformer2DModel', from_pretrained=None,
        config=TINY_FLUX)))
    fusion = GroupedConverters(bb, num_groups=(2, 2))
    official = _fabricate(
        str(tmp_path / 'merge-large'), fusion, _official_large_key,
        dict(_class_name='xFluxTransformer2DModel', num_layers=0,
             num_single_layers=2, in_channels=128, out_channels=64,
             merge_flux_transformer=True))
    assert 'single_transformer_blocks_in_dual.0.attn.to_q.weight' in official
    tool = _tool()
    out = str(tmp_path / 'merge_l.safetensors')
    meta = tool.convert(str(tmp_path / 'merge-large'), out)
    assert meta['variant'] == 'large'
    assert meta['fusion']['num_groups'] == [2, 2] or \
        meta['fusion']['num_groups'] == (2, 2)
    from unidense.utils.checkpoint_io import load_checkpoint_safe
    state = load_checkpoint_safe(out)['state_dict']
    stripped = {k[len('fusion.'):]: v for k, v in state.items()}
    fusion.load_state_dict(stripped, strict=True)
    for name, value in fusion.state_dict().items():
        assert torch.equal(value, official[_official_large_key(name)]), name

    with pytest.raises(KeyError, match='no mapping'):
        tool.convert_state_dict({'transformer_blocks.0.attn2.to_q.weight':
                                 torch.zeros(1), 'adaln_single.x':
                                 torch.zeros(1)}, 'large')
    with pytest.raises(FileNotFoundError, match='config.json'):
        tool.convert(str(tmp_path), out)


def _official_fixture():
    """The fixture made by running the released MERGE code
    (tests/data/merge_official/make_fixture.py) and its helpers."""
    folder = osp.join(REPO, 'tests', 'data', 'merge_official')
    spec = importlib.util.spec_from_file_location(
        'merge_official_fixture', osp.join(folder, 'make_fixture.py'))
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    with open(osp.join(folder, 'fixture.json')) as f:
        record = json.load(f)
    output = torch.load(osp.join(folder, 'output.pt'), weights_only=True)
    return maker, record, output


def test_converted_official_converters_reproduce_the_official_output(
        tmp_path):
    """The released code (diffusers 0.32.1) ran a 2-block, 1152-wide PixArt
    with one converter group in depth mode; its converters, written in the
    official layout under the official key names it recorded, go through
    tools/model_converters/merge_official.py into unidense's
    GroupedConverters on the same frozen weights, and the depth-mode output
    is the official one (fp32 CPU, <= 1e-5)."""
    from diffusers import PixArtTransformer2DModel

    from unidense.models.backbones import PixArtDiT
    from unidense.models.fusions import GroupedConverters
    maker, record, official_out = _official_fixture()
    assert record['made_with']['diffusers'] == '0.32.1'
    # the frozen DiT: diffusers' PixArt has the official frozen model's keys
    transformer = PixArtTransformer2DModel(**record['pixart'])
    state = transformer.state_dict()
    assert {k: list(v.shape) for k, v in state.items()} == \
        record['fixed_keys']
    transformer.load_state_dict(
        {k: maker.fixture_tensor(k, v.shape) for k, v in state.items()})
    # the released converter folder, rebuilt from the official key names
    sub = tmp_path / 'merge-base' / 'depth_converters'
    sub.mkdir(parents=True)
    save_file({k: maker.fixture_tensor(k, shape).contiguous()
               for k, shape in record['converter_keys'].items()},
              str(sub / 'diffusion_pytorch_model.safetensors'))
    config = {k: v for k, v in record['converter_config'].items()
              if not k.startswith('_use')}
    config.update(_class_name='xTransformerModel',
                  _diffusers_version='0.32.1')
    (sub / 'config.json').write_text(json.dumps(config))
    out = str(tmp_path / 'merge_b.safetensors')
    proc = subprocess.run([sys.executable, TOOL, str(sub.parent), out],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr

    from unidense.utils.checkpoint_io import load_checkpoint_safe
    converted = load_checkpoint_safe(out)['state_dict']
    fusion = GroupedConverters(PixArtDiT(transformer), num_groups=1,
                               ff_ratio=1.0)
    result = fusion.load_state_dict(
        {k[len('fusion.'):]: v for k, v in converted.items()}, strict=False)
    assert not result.unexpected_keys
    assert not [k for k in result.missing_keys
                if not k.startswith('_frozen') and 'backbone' not in k]
    dense, text, mask, t = maker.fixture_inputs()
    with torch.no_grad():
        ours = fusion(dense, t, text, mask,
                      added_cond_kwargs=dict(resolution=None,
                                             aspect_ratio=None))
    assert ours.shape == official_out.shape
    worst = (ours - official_out).abs().max().item()
    assert worst <= 1e-5, worst
