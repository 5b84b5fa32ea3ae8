"""inference_speedups (issue 27 item 3): attention kernel, channels-last,
compile and autocast from a config, through init_model and tools/test.py's
runner, with the same outputs (float rounding)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from unidense.apis import init_model
from unidense.engine.hooks import (InferenceSpeedupHook,
                                   apply_inference_speedups, switch_attention)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MERGE = osp.join(REPO, 'configs/merge/pixart_depth_tiny.py')


def _backbone_call(model):
    g = torch.Generator().manual_seed(0)
    latent = torch.randn(2, 4, 16, 16, generator=g)
    text = model.encode_prompt(2)
    with torch.no_grad():
        return model.backbone(latent, torch.full((2, ), 500), text['embeds'],
                              text['mask'],
                              dict(resolution=None, aspect_ratio=None))


@pytest.fixture(scope='module')
def merge():
    return init_model(MERGE)


def test_attention_switch_reaches_loose_blocks_and_keeps_outputs(merge):
    from diffusers.models.attention_processor import (Attention,
                                                      AttnProcessor,
                                                      AttnProcessor2_0)
    layers = [m for m in merge.modules() if isinstance(m, Attention)]
    in_converters = [m for m in merge.fusion.modules()
                     if isinstance(m, Attention)]
    assert in_converters, 'MERGE converters hold attention layers'
    reference = _backbone_call(merge)
    assert switch_attention(merge, 'math') == len(layers)
    assert all(type(m.processor) is AttnProcessor for m in layers)
    torch.testing.assert_close(_backbone_call(merge), reference, rtol=0,
                               atol=1e-5)
    assert switch_attention(merge, 'sdpa') == len(layers)
    assert all(type(m.processor) is AttnProcessor2_0 for m in layers)
    with pytest.raises(ValueError, match='attention must be'):
        switch_attention(merge, 'no_such_kernel')


def test_channels_last_and_autocast_keep_outputs(merge):
    reference = _backbone_call(merge)
    apply_inference_speedups(merge, channels_last=True)
    conv = merge.codec.vae.encoder.conv_in.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(_backbone_call(merge), reference, rtol=0,
                               atol=1e-5)
    dtypes = []
    handle = merge.codec.vae.encoder.conv_in.register_forward_hook(
        lambda mod, args, out: dtypes.append(out.dtype))
    try:
        apply_inference_speedups(merge, autocast='bf16')
        apply_inference_speedups(merge, autocast='bf16')  # not twice
        image = torch.rand(1, 3, 64, 64) * 2 - 1
        with torch.no_grad():
            merge(image, None, mode='tensor')
        assert dtypes == [torch.bfloat16]
        # a forward with gradients (a training step) keeps its precision
        merge.forward(image, None, mode='tensor')
        assert dtypes == [torch.bfloat16, torch.float32]
    finally:
        handle.remove()
    with pytest.raises(ValueError, match='autocast'):
        apply_inference_speedups(merge, autocast='int8')


def test_compile_compiles_each_network(monkeypatch):
    model = init_model(MERGE)
    compiled = []
    monkeypatch.setattr(torch.nn.Module, 'compile',
                        lambda self, **kw: compiled.append(type(self)
                                                           .__name__))
    lines = apply_inference_speedups(model, compile=True)
    assert sorted(compiled) == ['AutoencoderKL', 'PixArtTransformer2DModel']
    assert lines == ['compile: backbone.transformer, codec.vae']


def test_config_key_reaches_init_model_and_the_test_runner(tmp_path):
    from diffusers.models.attention_processor import AttnProcessor
    from unidense.utils.runner_cli import build_runner
    cfg = Config.fromfile(MERGE)
    cfg.inference_speedups = dict(attention='math')
    model = init_model(cfg)
    assert type(model.codec.vae.decoder.mid_block.attentions[0].processor) \
        is AttnProcessor
    cfg.work_dir = str(tmp_path)
    runner = build_runner(cfg)  # as tools/test.py
    hooks = [h for h in runner.hooks if isinstance(h, InferenceSpeedupHook)]
    assert len(hooks) == 1 and hooks[0].speedups == dict(attention='math')
    hooks[0].before_test(runner)
    vae = runner.model.codec.vae
    assert type(vae.decoder.mid_block.attentions[0].processor) \
        is AttnProcessor
