"""VPDDepthHead and VPDSegHead: shapes, losses, predict post-processing."""
import pytest
import torch

from unidense.diffusion import meta_device_build
from unidense.registry import MODELS
from tests.test_models.test_heads.head_utils import (
    assert_grads_reach_all, feats_at, make_samples, numel)

STRIDES = (8, 16, 32, 64)


def test_full_size_counts():
    with meta_device_build():
        depth = MODELS.build(dict(type='VPDDepthHead'))
        seg = MODELS.build(dict(type='VPDSegHead'))
    assert numel(depth) == 11_537_409  # VPD's head (brief 2.4)
    assert numel(seg) == 7_510_166


def test_depth_shapes_range_loss_and_predict():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='VPDDepthHead', in_channels=(16, 16, 32,
                                                               32),
                             embed_dim=32, num_filters=8,
                             deconv_channels=16, max_depth=10.0))
    feats = feats_at(STRIDES, (16, 16, 32, 32), size=(64, 128))
    out = head(feats)
    assert out['depth'].shape == (2, 1, 64, 128)
    assert 0 < out['depth'].min() and out['depth'].max() < 10
    samples = make_samples(size=(32, 48))
    losses = head.loss(feats, samples)
    assert set(losses) == {'loss_silog'}
    losses['loss_silog'].backward()
    assert_grads_reach_all(head)
    pred = head.predict(feats, samples)
    assert pred['depth'].shape == (2, 1, 32, 48)


def test_depth_fmap_border_crops_the_stride32_map():
    head = MODELS.build(dict(type='VPDDepthHead', in_channels=(16,) * 4,
                             embed_dim=16, num_filters=8,
                             deconv_channels=16, fmap_border=(1, 1)))
    out = head(feats_at(STRIDES, (16,) * 4, size=(128, 128)))
    assert out['depth'].shape == (2, 1, 96, 96)  # (4 - 1) * 32


def test_seg_shapes_loss_and_argmax():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='VPDSegHead', in_channels=(8, 10, 12, 14),
                             channels=16, num_classes=5))
    feats = feats_at(STRIDES, (8, 10, 12, 14), size=(64, 128))
    out = head(feats)
    assert out['seg_logits'].shape == (2, 5, 8, 16)
    samples = make_samples(size=(64, 128))
    losses = head.loss(feats, samples)
    assert set(losses) == {'loss_ce'}
    losses['loss_ce'].backward()
    assert_grads_reach_all(head)
    head.eval()
    pred = head.predict(feats, samples)
    assert pred['seg_logits'].shape == (2, 5, 64, 128)
    assert pred['sem_seg'].dtype == torch.long
    assert torch.equal(pred['sem_seg'],
                       pred['seg_logits'].argmax(1, keepdim=True))


def test_seg_needs_its_levels():
    head = MODELS.build(dict(type='VPDSegHead', in_channels=(8, 8),
                             in_strides=(8, 16), channels=8, num_classes=3))
    with pytest.raises(ValueError, match='expects 2 maps'):
        head(feats_at(STRIDES, (8,) * 4, size=(64, 64)))
