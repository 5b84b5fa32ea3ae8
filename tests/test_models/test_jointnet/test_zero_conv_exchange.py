"""ZeroConvExchange (JointNet's fusion): output preserving at init, the
official exchange structure and sizes, several modalities, frozen RGB."""
import pytest
import torch

from jointnet_tiny_parts import build_backbone
from unidense.registry import MODELS


def _fusion(modalities=('depth', ), masked_input=False, seed=0):
    bb = build_backbone(seed)
    return bb, MODELS.build(dict(type='ZeroConvExchange', backbone=bb,
                                 modalities=modalities,
                                 masked_input=masked_input))


def _inputs(n_branches, b=2, size=16, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, 4 * n_branches, size, size, generator=g),
            torch.tensor([3, 800])[:b], torch.randn(b, 5, 64, generator=g))


@pytest.mark.parametrize('modalities,masked', [
    (('depth', ), False), (('depth', 'normal'), False), (('depth', ), True)])
def test_each_branch_equals_the_plain_unet_at_init(modalities, masked):
    """The output-preserving principle: max abs diff 0 on CPU."""
    bb, fusion = _fusion(modalities, masked)
    n = 1 + len(modalities)
    x, t, text = _inputs(n)
    kwargs = {}
    if masked:
        kwargs = dict(masks=torch.rand(2, n, 16, 16).round(),
                      masked_latents=torch.randn(2, 4 * n, 16, 16))
    with torch.no_grad():
        out = fusion(x, t, text, **kwargs)
        for name, z, pred in zip(fusion.branch_names, x.split(4, dim=1),
                                 out.split(4, dim=1)):
            plain = bb.unet(z, t, text).sample
            assert (pred - plain).abs().max().item() == 0, name


def test_links_follow_the_official_structure_and_sizes():
    bb, fusion = _fusion()
    assert set(fusion.links) == {'rgb_to_depth', 'depth_to_rgb'}
    link = fusion.links['rgb_to_depth']
    # family UNet: conv_in + 4 blocks x 1 layer + 3 downsamplers
    assert [c.in_channels for c in link.skip_convs] == \
        [32, 32, 32, 64, 64, 64, 64, 64]
    assert link.input_conv.kernel_size == (3, 3)
    assert (link.input_conv.in_channels, link.input_conv.out_channels) == \
        (4, 32)
    assert link.mid_conv.in_channels == 64
    for p in fusion.links.parameters():
        assert p.requires_grad and not p.any()
    # the joint branch is an exact, trainable copy of the RGB UNet
    copy_sd = fusion.branches['depth'].unet.state_dict()
    for k, v in bb.unet.state_dict().items():
        assert torch.equal(copy_sd[k], v)
    assert all(p.requires_grad for p in fusion.branches.parameters())
    assert not any(p.requires_grad for p in bb.parameters())
    # the RGB UNet is borrowed: not in the fusion's state dict
    assert not any(k.startswith('owned_backbone') or 'backbone' in k
                   for k in fusion.state_dict())


def test_sd21_link_has_the_official_per_branch_extras():
    """28 tensors and 11,491,520 parameters per branch (brief §1.4)."""
    from mmengine import Config

    from jointnet_tiny_parts import REPO
    from unidense.diffusion import meta_device_build
    cfg = Config.fromfile(f'{REPO}/configs/_base_/models/sd21_base.py')
    with meta_device_build():
        bb = MODELS.build(dict(type='SDUNet', unet=cfg.unet))
        fusion = MODELS.build(dict(type='ZeroConvExchange', backbone=bb,
                                   masked_input=True))
    link = fusion.links['rgb_to_depth']
    assert [c.in_channels for c in link.skip_convs] == \
        [320] * 4 + [640] * 3 + [1280] * 5
    assert len(link.state_dict()) == 28
    assert sum(p.numel() for p in link.parameters()) == 11_491_520
    mask_conv = fusion.mask_convs['depth']
    assert tuple(mask_conv.weight.shape) == (320, 10, 3, 3)
    assert sum(p.numel() for p in mask_conv.parameters()) == 29_120


def test_exchange_reaches_the_receiver_and_trains_only_own_parts():
    bb, fusion = _fusion(('depth', 'normal'))
    x, t, text = _inputs(3)
    with torch.no_grad():
        base = fusion(x, t, text)
        for p in fusion.links['depth_to_rgb'].parameters():
            p.normal_(0, 0.05)
        changed = fusion(x, t, text)
        no_skips = fusion(x, t, text, exchange_features=False)
    diff = (changed - base).abs().flatten(2).amax(-1).view(2, 3, 4)
    assert diff[:, 0].min() > 0            # rgb receives from depth
    assert diff[:, 1:].max() == 0          # depth / normal do not
    assert not torch.equal(no_skips, changed)  # skip + mid sends cut
    # gradients: through the frozen RGB decoder into the depth branch
    out = fusion(x, t, text)
    out[:, :4].square().mean().backward()
    assert fusion.branches['depth'].unet.conv_in.weight.grad is not None
    assert fusion.links['depth_to_rgb'].mid_conv.weight.grad is not None
    assert all(p.grad is None for p in bb.parameters())


def test_bad_modalities_and_inputs_are_refused():
    bb = build_backbone()
    with pytest.raises(ValueError, match='modalities'):
        MODELS.build(dict(type='ZeroConvExchange', backbone=bb,
                          modalities=('rgb', )))
    _, fusion = _fusion()
    with pytest.raises(ValueError, match=r'\(B, 8, h, w\)'):
        fusion(torch.randn(1, 4, 16, 16), 1, torch.randn(1, 5, 64))
    _, masked = _fusion(masked_input=True)
    with pytest.raises(ValueError, match='masks'):
        masked(torch.randn(1, 8, 16, 16), 1, torch.randn(1, 5, 64))


@pytest.mark.skipif(not __import__('os').path.isfile(
    __import__('jointnet_tiny_parts').ZOO_UNET +
    '/diffusion_pytorch_model.safetensors'),
    reason='model_zoo/unidense-tiny/unet not trained yet')
def test_pretrained_tiny_family_unet_is_preserved():
    """sd21_rgbd_tiny.py with the family's trained UNet: at init both
    branches predict exactly what the pretrained UNet predicts."""
    from jointnet_tiny_parts import tiny_jointnet_cfg, unet_cfg
    cfg = tiny_jointnet_cfg('sd21_rgbd_tiny.py')
    cfg['backbone']['unet'] = dict(
        type='UNet2DConditionModel', from_pretrained=unet_cfg()['config'],
        subfolder='unet')
    model = MODELS.build(cfg)
    x, t, _ = _inputs(2)
    text = model.encode_text(['a red box', ''])
    with torch.no_grad():
        out = model.denoise(x, t, text)
        for z, pred in zip(x.split(4, dim=1), out.split(4, dim=1)):
            plain = model.backbone.unet(z, t, text).sample
            assert (pred - plain).abs().max().item() == 0
    assert model.prediction_type == 'v_prediction'
