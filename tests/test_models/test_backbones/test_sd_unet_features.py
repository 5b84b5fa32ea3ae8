"""SDUNetFeatures: VPD / Diff-2-in-1 one-step features (tiny SD-1.5)."""
import os.path as osp
import time

import pytest
import torch

from unidense.diffusion import meta_device_build
from unidense.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


def _cfg(name):
    from mmengine import Config
    return Config.fromfile(osp.join(REPO, 'configs', '_base_', 'models',
                                    name))


@pytest.fixture(scope='module')
def tiny():
    return _cfg('sd15_tiny.py')


def _build(cfg, **kwargs):
    torch.manual_seed(0)
    return MODELS.build(dict(type='SDUNetFeatures', unet=cfg.unet,
                             vae=cfg.vae, text_encoder=cfg.text_encoder,
                             **kwargs))


def test_full_size_sd15_channels_on_meta():
    cfg = _cfg('sd15.py')
    with meta_device_build():
        feats = MODELS.build(dict(type='SDUNetFeatures', unet=cfg.unet,
                                  vae=cfg.vae, text_encoder=cfg.text_encoder))
        vpd = MODELS.build(dict(type='SDUNetFeatures', unet=cfg.unet,
                                vae=cfg.vae, text_encoder=cfg.text_encoder,
                                taps='vpd'))
    # diff2in1 brief section 1.3 buckets, high resolution first
    assert feats.out_channels == [2560, 4160, 7040, 7680]
    assert vpd.out_channels == [320, 640, 1280, 1280]
    # VPD deletes the UNet's output GroupNorm + conv (12,164 parameters)
    assert sum(p.numel() for p in feats.unet.parameters()) == \
        859_520_964 - 12_164
    assert feats.codec.vae.decoder is None


@pytest.mark.parametrize('taps', ['all', 'vpd'])
def test_shapes_match_declared_channels(tiny, taps):
    model = _build(tiny, taps=taps)
    x = torch.rand(1, 3, 128, 64) * 2 - 1
    outs = model(x)
    assert [tuple(o.shape) for o in outs] == [
        (1, c, 128 // s, 64 // s) if s < 64 else (1, c, 2, 1)
        for c, s in zip(model.out_channels, (8, 16, 32, 64))]
    assert not any(o.requires_grad for o in outs)
    expect = [96, 112, 128, 128] if taps == 'all' else [16, 32, 32, 32]
    assert model.out_channels == expect


def test_frozen_forward_under_a_second(tiny):
    model = _build(tiny)
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    model(x)
    start = time.perf_counter()
    model(x)
    elapsed = time.perf_counter() - start
    # measured 0.2-0.5 s on 2 shared cores; generous bound
    assert elapsed < 5.0, elapsed


def test_noise_and_posterior_options(tiny):
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    det = _build(tiny, posterior='mean', add_noise=False, timestep=1,
                 apply_scaling=False)
    a, b = det(x), det(x)
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v)
    noisy = _build(tiny, posterior='mean', add_noise=True, timestep=500)
    c, d = noisy(x), noisy(x)
    assert not torch.allclose(c[0], d[0])
    # apply_scaling changes the latent the UNet sees
    scaled = _build(tiny, posterior='mean', add_noise=False, timestep=1)
    assert not torch.allclose(scaled(x)[0], a[0])


def test_vpd_trainable_unet_class_names_adapter_and_attn(tiny):
    names = ['bed', 'sofa', 'desk']
    model = _build(tiny, taps='vpd', text='class_names', class_names=names,
                   text_adapter=dict(type='TextAdapter', dim=32),
                   frozen_unet=False, use_attn_maps=True, posterior='mean',
                   add_noise=False, apply_scaling=False, timestep=1,
                   class_templates=['a {}.', 'a photo of a {}.'])
    assert model.out_channels == [16, 32 + 3, 32 + 3, 32]
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    outs = model(x)
    assert [o.shape[1] for o in outs] == model.out_channels
    # attention maps are softmax rows averaged: they sum to 1 over classes
    maps = outs[1][:, 32:]
    torch.testing.assert_close(maps.sum(1), torch.ones_like(maps[:, 0]))
    sum(o.mean() for o in outs).backward()
    assert model.text_adapter.gamma.grad is not None
    assert model.unet.conv_in.weight.grad is not None
    assert all(p.grad is None for p in model.codec.parameters())
    assert all(p.grad is None for p in model.text_encoder.parameters())
    assert model.class_embeds.shape == (3, 32)
    # one class token per image (VPD depth); maps need all classes
    with pytest.raises(ValueError, match='class_ids=None'):
        model(x, class_ids=[0, 2])
    model.use_attn_maps = False
    assert model(x, class_ids=[0, 2])[0].shape == (2, 16, 8, 8)


def test_caption_text_and_errors(tiny):
    model = _build(tiny, text='caption', taps='vpd')
    outs = model(torch.rand(2, 3, 64, 64) * 2 - 1,
                 captions=['a kitchen', 'an office'])
    assert outs[0].shape == (2, 16, 8, 8)
    with pytest.raises(ValueError, match='2 captions'):
        model(torch.rand(2, 3, 64, 64) * 2 - 1, captions=['one'])
    with pytest.raises(ValueError, match="posterior='median'"):
        _build(tiny, posterior='median')
    with pytest.raises(ValueError, match='class_names'):
        _build(tiny, text='class_names')


def test_shared_modules_keep_their_heads(tiny):
    unet = MODELS.build(tiny.unet)
    vae = MODELS.build(tiny.vae)
    model = MODELS.build(dict(type='SDUNetFeatures', unet=unet, vae=vae,
                              text_encoder=tiny.text_encoder, taps='vpd'))
    assert model.unet is unet and model.codec.vae is vae
    assert vae.decoder is not None and unet.conv_out.out_channels == 4
    assert model(torch.rand(1, 3, 64, 64) * 2 - 1)[0].shape == (1, 16, 8, 8)
