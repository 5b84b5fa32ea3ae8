"""JointNet's applications on the tiny model: joint generation, rgb2j /
j2rgb channel-wise inpainting, panoramas and tiled refinement."""
import pytest
import torch
from mmengine import Config

from jointnet_tiny_parts import REPO, build_jointnet


@pytest.fixture(scope='module')
def model():
    return build_jointnet().eval()


@pytest.fixture(scope='module')
def inpaint_model():
    return build_jointnet(fusion=dict(masked_input=True)).eval()


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_joint_generation_is_seeded_and_in_range(model):
    a = model.generate(['a red box', 'a blue sphere'], num_inference_steps=2,
                       generator=_gen())
    b = model.generate(['a red box', 'a blue sphere'], num_inference_steps=2,
                       generator=_gen())
    assert a['rgb'].shape == (2, 3, 64, 64) and a['depth'].shape == \
        (2, 1, 64, 64)    # the UNet's sample_size (16) x the VAE's 4
    assert torch.equal(a['rgb'], b['rgb'])
    for v in a.values():
        assert v.min() >= 0 and v.max() <= 1


@pytest.mark.parametrize('masked', [False, True])
def test_rgb2j_keeps_the_image_and_j2rgb_the_depth(model, inpaint_model,
                                                   masked):
    m = inpaint_model if masked else model
    rgb = torch.rand(2, 3, 32, 32) * 2 - 1
    depth = torch.rand(2, 1, 32, 32) * 2 - 1
    out = m.inpaint('', preset='rgb2j', inputs=dict(rgb=rgb),
                    num_inference_steps=2, generator=_gen(), decode=False)
    z = m.fusion.split(out['latent'])
    assert torch.equal(z['rgb'], m.encode_map('rgb', rgb))
    out = m.inpaint('', preset='j2rgb', inputs=dict(depth=depth),
                    num_inference_steps=2, generator=_gen(), decode=False)
    z = m.fusion.split(out['latent'])
    assert torch.equal(z['depth'], m.encode_map('depth', depth))
    # pixel masks: keep the left half of the image only
    mask = torch.ones(2, 1, 32, 32)
    mask[..., :16] = 0
    out = m.inpaint('', inputs=dict(rgb=rgb, depth=depth),
                    masks=dict(rgb=mask), num_inference_steps=2,
                    generator=_gen(), decode=False)
    z, known = m.fusion.split(out['latent']), m.encode_map('rgb', rgb)
    assert torch.equal(z['rgb'][..., :4], known[..., :4])
    assert not torch.equal(z['rgb'][..., 4:], known[..., 4:])


def test_panorama_is_tiled_wrapped_and_batched(model, monkeypatch):
    cfg = Config.fromfile(f'{REPO}/configs/jointnet/'
                          'sd21_rgbd_panorama_tiny.py')
    sampling = dict(cfg.sampling, num_inference_steps=2)
    calls = []
    real = model.fusion.forward

    def spy(latent, t, text, **kw):
        calls.append(tuple(latent.shape))
        return real(latent, t, text, **kw)

    monkeypatch.setattr(model.fusion, 'forward', spy)
    out = model.sample(generator=_gen(), **sampling)
    assert out['rgb'].shape == (1, 3, 64, 256)
    assert out['depth'].shape == (1, 1, 64, 256)
    # 64 latents wide / stride 8 = 8 wrapping tiles in one batch of 8, CFG
    # doubles it; plus the whole canvas at step 0 (0 <= int(0.4 * 2))
    assert calls[:2] == [(16, 8, 16, 16), (2, 8, 16, 64)]
    assert calls[2:] == [(16, 8, 16, 16)]


def test_refinement_keeps_the_condition_and_starts_late(inpaint_model):
    cfg = Config.fromfile(f'{REPO}/configs/jointnet/'
                          'sd21_rgbd_refine_tiny.py')
    rgb = torch.rand(1, 3, 96, 96) * 2 - 1
    depth = torch.rand(1, 1, 96, 96) * 2 - 1
    sampling = dict(cfg.sampling, num_inference_steps=5)
    out = inpaint_model.sample(inputs=dict(rgb=rgb, depth=depth),
                               masks=cfg.refine_presets['joint'],
                               generator=_gen(), decode=False, **sampling)
    z = inpaint_model.fusion.split(out['latent'])
    assert z['rgb'].shape == (1, 4, 24, 24)
    assert torch.equal(z['rgb'], inpaint_model.encode_map('rgb', rgb))
