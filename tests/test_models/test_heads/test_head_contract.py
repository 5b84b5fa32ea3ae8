"""Every head honours the BaseDenseHead contract and plugs into the neck."""
import pytest
import torch

from unidense.diffusion import meta_device_build
from unidense.models.heads import BaseDenseHead
from unidense.registry import MODELS
from tests.test_models.test_heads.head_utils import (
    feats_at, make_samples, numel)

DEFAULT_SPECS = {
    'BaeNormalHead': [(2, 24), (4, 40), (8, 64), (16, 176), (32, 2048)],
    'IDiscHead': [(4, 192), (8, 384), (16, 768), (32, 1536)],
    'VPDDepthHead': [(8, 320), (16, 640), (32, 1280), (64, 1280)],
    'VPDSegHead': [(8, 320), (16, 790), (32, 1430), (64, 1280)],
    'InvPTDecoder': [(16, 1024)] * 3,
    'TaskPrompterDecoder': [(16, 1024)],
}


@pytest.mark.parametrize('name', sorted(DEFAULT_SPECS))
def test_registered_subclass_with_documented_levels(name):
    cls = MODELS.get(name)
    assert issubclass(cls, BaseDenseHead)
    with meta_device_build():
        head = MODELS.build(dict(type=name, **(
            dict(depth=2, tap_blocks=(1, )) if name == 'TaskPrompterDecoder'
            else {})))
    assert head.feature_specs == DEFAULT_SPECS[name]


@pytest.mark.parametrize('head_cfg', [
    dict(type='BaeNormalHead', in_channels=(4, 6, 8, 10, 16),
         up_channels=(16, 16, 8, 8), mlp_channels=8),
    dict(type='IDiscHead', task='normal', in_channels=(8, 8, 16, 16),
         hidden_dim=16, ffn_dim=32, decoder_depth=1, decoder_heads=2,
         num_points=2, latent_dim=8, expansion=2),
    dict(type='InvPTDecoder', num_outputs=dict(semseg=5, normal=3),
         in_channels=(8, 8, 16), in_strides=(8, 16, 32), embed_dim=16,
         pred_constant=8, drop_path=0.0),
])
def test_neck_to_head_training_step_reaches_the_neck(head_cfg):
    """SD-like taps (strides 8-64) -> MultiScaleFusionNeck with the head's
    feature_specs -> head loss; the neck and the head both get gradients."""
    torch.manual_seed(0)
    head = MODELS.build(head_cfg)
    neck = MODELS.build(dict(type='MultiScaleFusionNeck',
                             in_channels=[6, 8, 10, 12],
                             out_specs=head.feature_specs,
                             target_strides=(8, 8, 16, 32),
                             hidden_channels=8, norm='GN'))
    taps = feats_at((8, 16, 32, 64), (6, 8, 10, 12), size=(64, 64))
    losses = head.loss(neck(taps), make_samples(size=(64, 64)))
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    assert all(p.grad is not None for p in neck.projs.parameters())
    assert numel(head) > 0
