"""IDiscHead: AFP partitioning, ISD, fusion; depth and normals."""
import pytest
import torch

from unidense.diffusion import meta_device_build
from unidense.registry import MODELS
from tests.test_models.test_heads.head_utils import (
    assert_grads_reach_all, assert_unit_normals, feats_at, make_samples,
    numel)

STRIDES = (4, 8, 16, 32)
TINY = dict(in_channels=(8, 12, 16, 20), hidden_dim=32, ffn_dim=64,
            decoder_depth=1, decoder_heads=2, num_points=2, num_latents=32,
            latent_dim=16, expansion=2)


def _feats():
    return feats_at(STRIDES, TINY['in_channels'], size=(32, 48))


def test_full_size_counts_match_idisc():
    with meta_device_build():
        normal = MODELS.build(dict(type='IDiscHead', task='normal'))
        depth = MODELS.build(dict(type='IDiscHead', task='depth'))
    assert numel(normal) == 12_193_676
    assert numel(normal.pixel_decoder) == 6_936_320
    assert numel(normal.afp) == 706_944
    assert numel(normal.isd) == 4_550_412
    assert numel(depth) == 12_191_363
    # 32 internal discretized representations of 128 dims per resolution
    assert [tuple(a.mu.shape) for a in normal.afp] == [(1, 32, 128)] * 3


def test_afp_partitions_pixels_with_sink_competition():
    head = MODELS.build(dict(type='IDiscHead', **TINY))
    attn = head.afp[0].cross_attn
    torch.manual_seed(0)
    idrs, pixels = torch.randn(2, 32, 16), torch.randn(2, 50, 32)
    # recompute the attention matrix exactly as the layer does
    q = attn.to_q(attn.norm(idrs))
    k, v = attn.to_kv(attn.norm_context(pixels)).chunk(2, dim=-1)
    sim = q @ k.transpose(-1, -2) * attn.scale
    a = sim.softmax(dim=-2) + attn.eps
    a = a / a.sum(-1, keepdim=True)
    # every pixel distributes ~one unit over the IDRs (before the row
    # renormalisation), every IDR is a convex combination of pixels
    assert torch.allclose(sim.softmax(dim=-2).sum(1), torch.ones(2, 50))
    assert torch.allclose(a.sum(-1), torch.ones(2, 32))
    out = attn(idrs, pixels)
    assert out.shape == (2, 32, 16)
    assert torch.allclose(out, attn.to_out(a @ v), atol=1e-5)
    # the IDRs of one image do not depend on another image's pixels
    pix2 = pixels.clone()
    pix2[1] += 5
    assert torch.allclose(attn(idrs, pix2)[0], out[0], atol=1e-6)


def test_normal_shapes_loss_grad_predict():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='IDiscHead', task='normal', **TINY))
    out = head(_feats())
    assert out['pred'].shape == (2, 4, 8, 12)  # stride 4
    assert out['idrs'].shape == (2, 3 * 32, 16)
    # the mean of the three resolutions' unit normals (not renormalised,
    # as iDisc: the loss normalises)
    assert out['normal'].norm(dim=1).max() <= 1 + 1e-5
    assert out['kappa'].min() > 0.01
    samples = make_samples()
    losses = head.loss(_feats(), samples)
    assert set(losses) == {'loss_angmf'}
    losses['loss_angmf'].backward()
    # the coarsest pixel-decoder level feeds only the deformable attention
    # and the FPN top-down path; everything gets a gradient
    assert_grads_reach_all(head)
    head.eval()
    pred = head.predict(_feats(), samples)
    assert pred['normal'].shape == (2, 3, 32, 48)
    assert_unit_normals(pred['normal'])


def test_depth_is_positive_and_uses_silog():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='IDiscHead', task='depth', **TINY))
    out = head(_feats())
    assert out['depth'].shape == (2, 1, 8, 12) and out['depth'].min() > 0
    losses = head.loss(_feats(), make_samples())
    assert set(losses) == {'loss_silog'}
    assert torch.isfinite(losses['loss_silog'])
    pred = head.predict(_feats(), make_samples(size=(16, 24)))
    assert pred['depth'].shape == (2, 1, 16, 24)


def test_bad_task():
    with pytest.raises(ValueError, match='depth'):
        MODELS.build(dict(type='IDiscHead', task='semseg'))
