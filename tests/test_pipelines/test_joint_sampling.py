"""Joint sampling: generation, known-region inpainting, SDEdit strength,
presets and classifier-free guidance (toy denoisers, no network)."""
import pytest
import torch

from unidense.pipelines import (classifier_free_guidance, latent_mask,
                                preset_masks, sample_joint_latents)

DDIM = dict(type='DDIMScheduler', num_train_timesteps=1000,
            beta_schedule='linear', beta_start=1e-4, beta_end=0.02,
            prediction_type='epsilon', clip_sample=False,
            set_alpha_to_one=False, steps_offset=1)


def _toy(latents, t, spatial, step):
    return 0.5 * latents


def test_presets():
    names = ('rgb', 'depth', 'normal')
    assert preset_masks('rgb2j', names) == dict(rgb=0., depth=1., normal=1.)
    assert preset_masks('j2rgb', names) == dict(rgb=1., depth=0., normal=0.)
    assert preset_masks('both', names, dict(depth=0)) == dict(
        rgb=1., depth=0, normal=1.)
    with pytest.raises(ValueError, match='preset'):
        preset_masks('expand', names)


def test_latent_mask_is_nearest_and_binary():
    m = torch.zeros(1, 1, 8, 8)
    m[..., :4, :] = 0.7
    small = latent_mask(m, (2, 2))
    assert small.tolist() == [[[[1., 1.], [0., 0.]]]]


def test_kept_channels_end_exactly_at_the_known_latents():
    """rgb2j: the RGB half is the known latent, per sample (the official
    pipeline used batch element 0 for everyone)."""
    known = torch.randn(2, 8, 4, 4)
    mask = torch.cat([torch.zeros(2, 4, 4, 4), torch.ones(2, 4, 4, 4)], 1)
    seen = []

    def fn(latents, t, spatial, step):
        seen.append(step)
        return 0.1 * latents

    out = sample_joint_latents(fn, DDIM, known.shape, num_inference_steps=5,
                               known=known, known_mask=mask,
                               generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[:, :4], known[:, :4])
    assert not torch.allclose(out[:, 4:], known[:, 4:])
    assert seen == [(i, 5) for i in range(5)]


def test_strength_runs_the_last_steps_from_the_noised_input():
    known = torch.randn(1, 8, 4, 4)
    steps = []
    out = sample_joint_latents(
        lambda x, t, s, st: steps.append(int(t)) or 0 * x, DDIM, known.shape,
        num_inference_steps=10, known=known, strength=0.4,
        generator=torch.Generator().manual_seed(0))
    assert steps == [301, 201, 101, 1]     # leading spacing, offset 1
    assert out.shape == known.shape
    assert torch.equal(sample_joint_latents(_toy, DDIM, known.shape,
                                            known=known, strength=0.0),
                       known)
    with pytest.raises(ValueError, match='known'):
        sample_joint_latents(_toy, DDIM, known.shape, strength=0.5)


def test_generation_is_seeded_and_spatial_is_passed():
    spatial = torch.ones(1, 3, 4, 4)

    def fn(latents, t, sp, step):
        assert sp is spatial
        return 0.2 * latents

    a, b = (sample_joint_latents(fn, DDIM, (1, 8, 4, 4),
                                 num_inference_steps=3, spatial=spatial,
                                 generator=torch.Generator().manual_seed(3))
            for _ in range(2))
    assert torch.equal(a, b)


def test_classifier_free_guidance_batches_uncond_and_cond():
    text = torch.tensor([[[1.]], [[2.]]])         # (B=2, L=1, D=1)
    uncond = torch.zeros(2, 1, 1)
    calls = []

    def model(x, t, c, sp):
        calls.append((x.shape[0], t.shape[0], c.shape[0]))
        return x + c.view(-1, 1, 1, 1)

    x = torch.zeros(4, 8, 2, 2)                   # two tiles x B=2
    out = classifier_free_guidance(model, text, uncond, 3.0)(
        x, torch.tensor(10), None, (0, 1))
    assert calls == [(8, 8, 8)]
    # uncond 0, cond = text: 0 + 3 * (text - 0), tiles tile-major
    assert out[:, 0, 0, 0].tolist() == [3., 6., 3., 6.]
    plain = classifier_free_guidance(model, text, uncond, 1.0)
    assert plain(x, torch.tensor(10), None, (0, 1))[:, 0, 0, 0].tolist() \
        == [1., 2., 1., 2.]
