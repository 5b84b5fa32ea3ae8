"""LatentCodec: RGB / depth / normal <-> latent on the tiny VAE, real NYU."""
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn

from unidense.diffusion import LatentCodec
from unidense.registry import MODELS

from tiny_diffusion_parts import TINY_VAE


class IdentityVAE(nn.Module):
    """A 'VAE' whose posterior mean is the input and decoder the identity,
    so the codec's own arithmetic (replicate/mean, scale/shift) is exact."""

    def __init__(self, scaling_factor=0.5, shift_factor=0.25):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))
        self.config = SimpleNamespace(
            scaling_factor=scaling_factor, shift_factor=shift_factor,
            latent_channels=3, block_out_channels=[1])

    def encode(self, x):
        dist = SimpleNamespace(mean=x, sample=lambda g=None: x + 1)
        return SimpleNamespace(latent_dist=dist)

    def decode(self, z):
        return SimpleNamespace(sample=z)


@pytest.fixture(scope='module')
def codec():
    torch.manual_seed(0)
    return MODELS.build(dict(type='LatentCodec', vae=TINY_VAE))


def test_shapes_ranges_and_frozen(codec):
    assert codec.downsample_factor == 8 and codec.latent_channels == 4
    assert codec.scaling_factor == pytest.approx(0.18215)
    assert codec.shift_factor == 0.0
    assert not any(p.requires_grad for p in codec.parameters())
    x = torch.rand(3, 3, 32, 48) * 2 - 1
    z = codec.encode_rgb(x)
    assert z.shape == (3, 4, 4, 6) and not z.requires_grad
    rgb = codec.decode_rgb(z)
    assert rgb.shape == x.shape and rgb.min() >= -1 and rgb.max() <= 1
    d = torch.rand(3, 1, 32, 48) * 2 - 1
    zd = codec.encode_depth(d)
    assert zd.shape == (3, 4, 4, 6)
    # depth is the 3-channel replica through the same VAE
    torch.testing.assert_close(zd, codec.encode_rgb(d.repeat(1, 3, 1, 1)))
    dd = codec.decode_depth(zd)
    assert dd.shape == (3, 1, 32, 48) and dd.abs().max() <= 1
    # Marigold's order: mean of the raw decoded channels, then clip
    torch.testing.assert_close(
        dd, codec._decode(zd).mean(1, keepdim=True).clamp(-1, 1))
    n = torch.nn.functional.normalize(torch.randn(3, 3, 32, 48), dim=1)
    zn = codec.encode_normal(n)
    nn_ = codec.decode_normal(zn)
    assert nn_.shape == n.shape
    torch.testing.assert_close(nn_.norm(dim=1), torch.ones(3, 32, 48))
    codec.train()
    assert not codec.vae.training


def test_batched_chunks_equal_one_call(codec):
    x = torch.rand(5, 3, 16, 16) * 2 - 1
    chunked = LatentCodec(codec.vae, max_batch=2)
    torch.testing.assert_close(chunked.encode_rgb(x), codec.encode_rgb(x))
    z = codec.encode_rgb(x)
    torch.testing.assert_close(chunked.decode_depth(z), codec.decode_depth(z))


def test_posterior_sample_and_factors():
    torch.manual_seed(0)
    vae = MODELS.build(dict(TINY_VAE, frozen=True))
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    mean = LatentCodec(vae).encode_rgb(x)
    sampler = LatentCodec(vae, sample_posterior=True)
    g = torch.Generator().manual_seed(1)
    s1 = sampler.encode_rgb(x, generator=g)
    assert not torch.allclose(s1, mean)
    # FLUX-style factors: z = (mean - shift) * scale
    flux = LatentCodec(vae, scaling_factor=0.3611, shift_factor=0.1159)
    torch.testing.assert_close(flux.encode_rgb(x),
                               (mean / 0.18215 - 0.1159) * 0.3611)


def test_identity_vae_exact_round_trip():
    codec = LatentCodec(IdentityVAE())
    d = torch.rand(2, 1, 5, 7) * 2 - 1
    z = codec.encode_depth(d)
    torch.testing.assert_close(z, (d.repeat(1, 3, 1, 1) - 0.25) * 0.5)
    torch.testing.assert_close(codec.decode_depth(z), d)
    n = torch.nn.functional.normalize(torch.randn(2, 3, 5, 7), dim=1)
    torch.testing.assert_close(codec.decode_normal(codec.encode_normal(n)), n)
    # mean over channels: a decoded (a, b, c) becomes (a + b + c) / 3
    rgb = torch.tensor([0.3, -0.6, 0.9]).view(1, 3, 1, 1)
    assert LatentCodec.rgb_to_depth(rgb).item() == pytest.approx(0.2)


def test_bad_inputs_name_the_method(codec):
    with pytest.raises(ValueError, match=r'encode_depth.*\(B, 1, H, W\)'):
        codec.encode_depth(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match='multiples of 8'):
        codec.encode_rgb(torch.zeros(1, 3, 12, 16))
    with pytest.raises(ValueError,
                       match=r'decode_rgb: expected \(B, 4, H, W\)'):
        codec.decode_rgb(torch.zeros(1, 3, 2, 2))


@pytest.mark.realdata
def test_real_nyu_depth(codec, realdata_root):
    import cv2
    path = osp.join(realdata_root, 'nyu_depth_v2', 'nyu2_test',
                    '00000_depth.png')
    raw = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert raw is not None and raw.dtype == np.uint16
    depth = torch.from_numpy(raw.astype(np.float32) / 1000.0)  # mm -> m
    depth = depth[None, None, ::4, ::4][..., :112, :160]  # 120x160 -> 8x
    valid = depth > 0
    assert 0.3 < depth[valid].min() and depth[valid].max() < 10.5
    norm, ranges = LatentCodec.normalize_depth(depth, valid)
    assert norm.min() == -1 and norm.max() == 1
    vals = norm[valid]
    # 2 % / 98 % quantiles: about 2 % of the pixels clip at each end
    assert 0.01 < (vals == -1).float().mean() < 0.03
    assert 0.01 < (vals == 1).float().mean() < 0.03
    lo, hi = ranges[0]
    assert 0 < lo < hi
    z = codec.encode_depth(norm)
    assert z.shape == (1, 4, 14, 20) and torch.isfinite(z).all()
    dec = codec.decode_depth(z)
    assert dec.shape == norm.shape and dec.abs().max() <= 1
    # the replicate -> mean path itself is lossless on the real map
    exact = LatentCodec(IdentityVAE()).decode_depth(
        LatentCodec(IdentityVAE()).encode_depth(norm))
    torch.testing.assert_close(exact, norm)
    # de-normalising the quantile map recovers metric depth inside the range
    metres = (norm + 1) / 2 * (hi - lo) + lo
    inside = valid & (depth >= lo) & (depth <= hi)
    torch.testing.assert_close(metres[inside], depth[inside], atol=1e-4,
                               rtol=1e-4)


def test_sd_vae_tiny_config_is_x8_and_fast():
    import time

    from mmengine import Config
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(repo, 'configs', '_base_', 'models',
                                   'sd_vae_tiny.py'))
    codec = LatentCodec(cfg.model)
    assert codec.downsample_factor == 8 and codec.latent_channels == 4
    assert sum(p.numel() for p in codec.parameters()) == 81_215
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    codec.decode_rgb(codec.encode_rgb(x))
    start = time.perf_counter()
    out = codec.decode_rgb(codec.encode_rgb(x))
    elapsed = time.perf_counter() - start
    assert out.shape == x.shape
    assert elapsed < 5.0, elapsed  # measured ~0.03 s
