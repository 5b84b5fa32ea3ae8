"""SDUNet: the denoiser and its down/mid/up taps (tiny SD-1.5 config)."""
import os.path as osp
import time

import pytest
import torch

from unidense.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


def _tiny_cfg(name='sd15_tiny.py'):
    from mmengine import Config
    return Config.fromfile(osp.join(REPO, 'configs', '_base_', 'models',
                                    name))


@pytest.fixture(scope='module')
def sd15():
    torch.manual_seed(0)
    return MODELS.build(_tiny_cfg().model)


def test_taps_follow_the_ldm_block_layout(sd15):
    x, ctx = torch.randn(2, 4, 8, 8), torch.randn(2, 77, 32)
    pred, feats = sd15(x, torch.tensor([10, 500]), ctx, return_features=True)
    assert pred.shape == x.shape
    # layers_per_block=1: conv_in + 4 x 1 layer + 3 downsamplers = 8
    # (SD with 2 layers: 1 + 8 + 3 = 12 "input blocks")
    assert [tuple(f.shape[1:]) for f in feats['down']] == [
        (16, 8, 8), (16, 8, 8), (16, 4, 4), (32, 4, 4), (32, 2, 2),
        (32, 2, 2), (32, 1, 1), (32, 1, 1)]
    assert [tuple(f.shape[1:]) for f in feats['mid']] == [(32, 1, 1)]
    # 4 up blocks x (layers+1); each block's last layer is upsampled
    assert [tuple(f.shape[1:]) for f in feats['up']] == [
        (32, 1, 1), (32, 2, 2), (32, 2, 2), (32, 4, 4), (32, 4, 4),
        (32, 8, 8), (16, 8, 8), (16, 8, 8)]
    # hooks observe diffusers' own forward: same prediction, hooks removed
    torch.testing.assert_close(pred, sd15(x, torch.tensor([10, 500]), ctx))
    assert not sd15.unet.conv_in._forward_hooks
    # the last up tap feeds the output head
    unet = sd15.unet
    head = unet.conv_out(unet.conv_act(unet.conv_norm_out(feats['up'][-1])))
    torch.testing.assert_close(head, pred)


def test_frozen_builds_no_graph_and_trainable_does():
    cfg = _tiny_cfg()
    frozen = MODELS.build(dict(cfg.model, frozen=True))
    x, ctx = torch.randn(1, 4, 8, 8), torch.randn(1, 77, 32)
    pred, feats = frozen(x, 1, ctx, return_features=True)
    assert not pred.requires_grad and not feats['up'][0].requires_grad
    trainable = MODELS.build(cfg.model)
    pred, feats = trainable(x, 1, ctx, return_features=True)
    feats['mid'][0].sum().backward()
    assert trainable.unet.conv_in.weight.grad is not None


def test_bad_inputs(sd15):
    with pytest.raises(ValueError, match=r'sample must be \(B, 4'):
        sd15(torch.randn(1, 3, 8, 8), 1, torch.randn(1, 77, 32))
    with pytest.raises(ValueError, match='encoder_hidden_states'):
        sd15(torch.randn(1, 4, 8, 8), 1, torch.randn(1, 77, 16))


@pytest.mark.parametrize('name', ['sd15_tiny.py', 'sd21_base_tiny.py'])
def test_tiny_configs_forward_fast(name):
    cfg = _tiny_cfg(name)
    model = MODELS.build(cfg.model)
    te = MODELS.build(cfg.text_encoder)
    ctx = te.encode(['a room', ''])['embeds']
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        model(x, 999, ctx)  # warm-up (first-call allocations)
        start = time.perf_counter()
        pred = model(x, 999, ctx)
        elapsed = time.perf_counter() - start
    assert pred.shape == x.shape and torch.isfinite(pred).all()
    # measured about 0.05-0.3 s on 2 shared cores; generous bound
    assert elapsed < 5.0, elapsed
