"""MultiScaleFusionNeck (Diff-2-in-1 Eq. 9-10)."""
import pytest
import torch

from unidense.diffusion import meta_device_build
from unidense.registry import MODELS

BAE = [(2, 24), (4, 40), (8, 64), (16, 176), (32, 2048)]


def _numel(m):
    return sum(p.numel() for p in m.parameters())


def test_diff2in1_configuration_matches_reference_count():
    # Diff-2-in-1 buckets for SD-1.5 fused one step finer than tapped,
    # projected to Bae's EfficientNet-B5 pyramid: the reference module's
    # parameters used in forward are 21,921,488 (diff2in1 brief 1.4)
    with meta_device_build():
        neck = MODELS.build(dict(type='MultiScaleFusionNeck',
                                 in_channels=[2560, 4160, 7040, 7680],
                                 out_specs=BAE,
                                 target_strides=(8, 8, 16, 32)))
    assert _numel(neck) == 21_921_488
    assert _numel(neck.projs) == 15_728_640 + 1_239_040 + 266_240 + 163_840
    assert [_numel(b) for b in neck.fuse] == [118_976, 190_656, 4_193_552]


def test_shapes_for_requested_strides_relative_to_input():
    torch.manual_seed(0)
    neck = MODELS.build(dict(type='MultiScaleFusionNeck',
                             in_channels=[6, 8, 10, 12],
                             out_specs=[(2, 3), (4, 5), (8, 7), (16, 9),
                                        (32, 11), (64, 13), (256, 4)],
                             hidden_channels=6, norm='GN'))
    # a 128 x 192 image: inputs at strides 8..64
    feats = [torch.randn(2, c, 128 // s, 192 // s)
             for c, s in zip([6, 8, 10, 12], (8, 16, 32, 64))]
    outs = neck(feats)
    assert [tuple(o.shape) for o in outs] == [
        (2, 3, 64, 96), (2, 5, 32, 48), (2, 7, 16, 24), (2, 9, 8, 12),
        (2, 11, 4, 6), (2, 13, 2, 3), (2, 4, 1, 1)]
    assert neck.down_strides == [4, 2] and neck.up_strides == [128, 256]
    sum(o.mean() for o in outs).backward()
    assert all(p.grad is not None for p in neck.parameters())


def test_top_down_dependency():
    """Conv(Up(f_{i-1}), f_i): a fine output sees every coarser level."""
    torch.manual_seed(0)
    neck = MODELS.build(dict(type='MultiScaleFusionNeck',
                             in_channels=[4, 4, 4, 4],
                             out_specs=[(8, 4), (64, 4)], norm='GN',
                             spectral_norm=False)).eval()
    feats = [torch.randn(1, 4, 8 // 2**i, 8 // 2**i) for i in range(4)]
    base = neck(feats)
    changed = [f.clone() for f in feats]
    changed[3] += 1.0
    out = neck(changed)
    assert not torch.allclose(out[0], base[0])  # stride 8 depends on 64
    changed = [f.clone() for f in feats]
    changed[0] += 1.0
    out = neck(changed)
    torch.testing.assert_close(out[1], base[1])  # but not the reverse


def test_errors():
    with pytest.raises(ValueError, match='power-of-two'):
        MODELS.build(dict(type='MultiScaleFusionNeck', in_channels=[4] * 4,
                          out_specs=[(12, 4)]))
    with pytest.raises(ValueError, match='in_strides'):
        MODELS.build(dict(type='MultiScaleFusionNeck', in_channels=[4] * 3,
                          out_specs=[(8, 4)]))
    neck = MODELS.build(dict(type='MultiScaleFusionNeck',
                             in_channels=[4] * 4, out_specs=[(8, 4)]))
    with pytest.raises(ValueError, match=r'feats\[1\] must be \(B, 4'):
        neck([torch.randn(1, 4, 8, 8), torch.randn(1, 5, 4, 4),
              torch.randn(1, 4, 2, 2), torch.randn(1, 4, 1, 1)])
