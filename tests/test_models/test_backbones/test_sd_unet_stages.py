"""SDUNet stage API: chaining prepare / down / mid / up / finalize is the
stock UNet2DConditionModel forward, bit for bit, and a second UNet can
exchange tensors with it between stages (JointNet)."""
import os.path as osp

import pytest
import torch

from unidense.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


def _build(name):
    from mmengine import Config
    import unidense.models  # noqa: F401
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'models',
                                   name))
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('name', ['sd15_tiny.py', 'sd21_base_tiny.py'])
@pytest.mark.parametrize('size', [8, 12])  # 12: not a multiple of 2**3
def test_chained_stages_equal_the_stock_forward(name, size):
    unet = _build(name)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, size, size, generator=gen)
    ctx = torch.randn(2, 7, 32, generator=gen)
    mask = torch.ones(2, 7)
    mask[1, 4:] = 0
    t = torch.tensor([10, 700])
    with torch.no_grad():
        ref = unet.unet(x, t, ctx, encoder_attention_mask=mask).sample
        ours = unet.forward_in_stages(x, t, ctx,
                                      encoder_attention_mask=mask)
    assert ours.shape == ref.shape
    assert (ours - ref).abs().max().item() == 0


def test_states_expose_what_jointnet_exchanges():
    unet = _build('sd15_tiny.py')
    x, ctx = torch.randn(1, 4, 8, 8), torch.randn(1, 77, 32)
    state = unet.prepare(x, 5, ctx)
    assert state.sample.shape == (1, 16, 8, 8)
    assert state.residuals[0] is state.sample  # conv_in output
    for i in range(unet.num_down_blocks):
        state = unet.run_down_block(i, state)
    # conv_in + 4 blocks x 1 layer + 3 downsamplers, as the taps
    _, taps = unet(x, 5, ctx, return_features=True)
    assert len(state.residuals) == len(taps['down']) == 8
    for a, b in zip(state.residuals, taps['down']):
        assert torch.equal(a, b)
    state = unet.run_mid_block(state)
    assert torch.equal(state.sample, taps['mid'][0])
    for i in range(unet.num_up_blocks):
        state = unet.run_up_block(i, state)
    assert state.residuals == ()
    assert torch.equal(unet.finalize(state), unet(x, 5, ctx))


def test_two_unets_exchange_tensors_between_stages():
    """A zero exchange leaves both branches unchanged; a non-zero one
    changes the receiving branch only from the stage it enters."""
    rgb, depth = _build('sd15_tiny.py'), _build('sd15_tiny.py')
    x, ctx = torch.randn(1, 4, 8, 8), torch.randn(1, 77, 32)

    def joint(scale):
        a, b = rgb.prepare(x, 5, ctx), depth.prepare(x, 5, ctx)
        for i in range(rgb.num_down_blocks):
            a, b = rgb.run_down_block(i, a), depth.run_down_block(i, b)
            # the depth branch receives the RGB branch's residuals
            b = b.replace(residuals=tuple(
                r + scale * s for r, s in zip(b.residuals, a.residuals)))
        a, b = rgb.run_mid_block(a), depth.run_mid_block(b)
        for i in range(rgb.num_up_blocks):
            a, b = rgb.run_up_block(i, a), depth.run_up_block(i, b)
        return rgb.finalize(a), depth.finalize(b)

    with torch.no_grad():
        out_rgb, out_depth = joint(0.0)
        assert torch.equal(out_rgb, rgb(x, 5, ctx))
        assert torch.equal(out_depth, depth(x, 5, ctx))
        mixed_rgb, mixed_depth = joint(0.5)
    assert torch.equal(mixed_rgb, out_rgb)
    assert not torch.allclose(mixed_depth, out_depth)
