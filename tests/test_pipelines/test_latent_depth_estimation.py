"""sample_depth_latents and the processing-resolution helpers."""
import unittest

import numpy as np
import torch
from diffusers import (DDIMScheduler, DDPMScheduler,
                       DPMSolverMultistepScheduler,
                       FlowMatchEulerDiscreteScheduler)
from diffusers.pipelines.flux.pipeline_flux import calculate_shift

from unidense.pipelines import (depth_to_unit_range,
                                flow_match_timestep_kwargs, processing_size,
                                resize_to_processing_res,
                                restore_to_input_size, sample_depth_latents)

PIXART_DPM = dict(
    type='DPMSolverMultistepScheduler', algorithm_type='dpmsolver++',
    beta_start=0.0001, beta_end=0.02, beta_schedule='linear',
    num_train_timesteps=1000, prediction_type='epsilon', solver_order=2,
    timestep_spacing='linspace')


def _target(rgb):
    # every image has its own clean latent, so a mix-up of conditions shows
    return torch.tanh(rgb * 2.0) + 0.1


def _oracle(scheduler, kind):
    """A perfect denoiser that knows the clean latent of its RGB input."""
    ac = getattr(scheduler, 'alphas_cumprod', None)

    def fn(noisy, rgb, t):
        x0 = _target(rgb)
        if kind == 'flow':
            sigma = (t / 1000.0).view(-1, 1, 1, 1)
            eps = (noisy - (1 - sigma) * x0) / sigma
            return eps - x0
        a = ac[t.long()].view(-1, 1, 1, 1)
        eps = (noisy - a.sqrt() * x0) / (1 - a).sqrt()
        if kind == 'v':
            return a.sqrt() * eps - (1 - a).sqrt() * x0
        return eps

    return fn


class TestSampleDepthLatents(unittest.TestCase):

    def setUp(self):
        g = torch.Generator().manual_seed(0)
        self.rgb = torch.randn(2, 4, 6, 8, generator=g)

    def _check_oracle(self, scheduler, kind, steps=10, tol=1e-4, **kw):
        out = sample_depth_latents(_oracle(scheduler, kind), self.rgb,
                                   scheduler, num_inference_steps=steps,
                                   ensemble_size=3, seed=1, **kw)
        expect = _target(self.rgb).repeat_interleave(3, dim=0)
        self.assertEqual(out.shape, (6, 4, 6, 8))
        self.assertLess((out - expect).abs().max().item(), tol)

    def test_epsilon_dpm_solver_from_config(self):
        from unidense.diffusion import build_scheduler  # noqa: F401
        from unidense.registry import DIFFUSION_SCHEDULERS
        sched = DIFFUSION_SCHEDULERS.build(PIXART_DPM)
        self._check_oracle(sched, 'eps')
        # a config dict works as well
        out = sample_depth_latents(_oracle(sched, 'eps'), self.rgb,
                                   PIXART_DPM, num_inference_steps=5)
        self.assertLess(
            (out - _target(self.rgb)).abs().max().item(), 1e-4)

    def test_epsilon_ddpm_and_ddim(self):
        self._check_oracle(DDPMScheduler(clip_sample=False), 'eps')
        self._check_oracle(
            DDIMScheduler(clip_sample=False, set_alpha_to_one=True,
                          timestep_spacing='trailing'), 'eps')

    def test_v_prediction_ddim(self):
        sched = DDIMScheduler(clip_sample=False, set_alpha_to_one=True,
                              prediction_type='v_prediction',
                              timestep_spacing='trailing')
        self._check_oracle(sched, 'v', steps=4)

    def test_flow_matching_euler(self):
        sched = FlowMatchEulerDiscreteScheduler(
            shift=3.0, use_dynamic_shifting=True)
        kw = flow_match_timestep_kwargs(sched, 6, image_seq_len=12)
        self._check_oracle(sched, 'flow', steps=6, timestep_kwargs=kw)
        with self.assertRaisesRegex(ValueError, 'mu'):
            sample_depth_latents(_oracle(sched, 'flow'), self.rgb, sched, 6)

    def test_flow_match_kwargs_as_flux_pipeline(self):
        sched = FlowMatchEulerDiscreteScheduler(
            shift=3.0, use_dynamic_shifting=True, base_shift=0.5,
            max_shift=1.15, base_image_seq_len=256, max_image_seq_len=4096)
        kw = flow_match_timestep_kwargs(sched, 20, image_seq_len=1024)
        np.testing.assert_allclose(kw['sigmas'],
                                   np.linspace(1.0, 1 / 20, 20), atol=1e-12)
        self.assertAlmostEqual(kw['mu'], calculate_shift(1024, 256, 4096,
                                                         0.5, 1.15))
        self.assertNotIn('mu', flow_match_timestep_kwargs(
            FlowMatchEulerDiscreteScheduler(), 4, 64))

    def test_seed_ensemble_layout_and_chunks(self):
        sched = DDIMScheduler(clip_sample=False, timestep_spacing='trailing')
        seen = []

        def fn(noisy, rgb, t):
            seen.append((noisy.shape[0], t.shape, t.dtype))
            return 0.5 * noisy + 0.1 * rgb  # not an oracle: noise matters

        a = sample_depth_latents(fn, self.rgb, sched, 3, ensemble_size=4,
                                 seed=7)
        b = sample_depth_latents(fn, self.rgb, sched, 3, ensemble_size=4,
                                 seed=7)
        c = sample_depth_latents(fn, self.rgb, sched, 3, ensemble_size=4,
                                 seed=8)
        chunked = sample_depth_latents(fn, self.rgb, sched, 3,
                                       ensemble_size=4, seed=7, batch_size=3)
        self.assertTrue(torch.equal(a, b))
        self.assertFalse(torch.allclose(a, c))
        self.assertLess((a - chunked).abs().max().item(), 1e-6)
        self.assertEqual(seen[0], (8, torch.Size([8]), torch.float32))
        # chunks of 3, 3, 2 members, 3 steps each: the last chunk has 2
        self.assertEqual([s[0] for s in seen[-3:]], [2, 2, 2])
        gen = sample_depth_latents(fn, self.rgb, sched, 3, ensemble_size=4,
                                   generator=torch.Generator().manual_seed(7))
        self.assertTrue(torch.equal(a, gen))
        members = a.view(2, 4, 4, 6, 8)
        self.assertFalse(torch.allclose(members[:, 0], members[:, 1]))
        # the caller's scheduler is not stepped
        self.assertIsNone(sched.num_inference_steps)
        # explicit initial noise, other latent width
        init = torch.randn(2, 2, 6, 8)
        out = sample_depth_latents(
            lambda z, r, t: z * 0, self.rgb, sched, 2, latent_channels=2,
            init_latents=init)
        self.assertEqual(out.shape, (2, 2, 6, 8))

    def test_errors(self):
        sched = DDPMScheduler()
        with self.assertRaisesRegex(ValueError, 'denoise_fn returned'):
            sample_depth_latents(
                lambda z, r, t: torch.cat([z, z], 1), self.rgb, sched, 2)
        with self.assertRaisesRegex(ValueError, 'init_latents'):
            sample_depth_latents(lambda z, r, t: z, self.rgb, sched, 2,
                                 init_latents=torch.zeros(1, 4, 6, 8))
        with self.assertRaisesRegex(ValueError, 'rgb_latent'):
            sample_depth_latents(lambda z, r, t: z, self.rgb[0], sched, 2)
        with self.assertRaisesRegex(TypeError, 'scheduler'):
            sample_depth_latents(lambda z, r, t: z, self.rgb, object(), 2)


class TestImageHelpers(unittest.TestCase):

    def test_processing_size(self):
        self.assertEqual(processing_size(480, 640, 768, 8), (576, 768))
        self.assertEqual(processing_size(480, 640, 0, 16), (480, 640))
        self.assertEqual(processing_size(375, 1242, 512, 16), (160, 512))
        self.assertEqual(processing_size(3, 5, 0, 8), (8, 8))
        with self.assertRaises(ValueError):
            processing_size(10, 10, -1)
        # PixArt-alpha / MERGE-B resolution binning
        self.assertEqual(processing_size(480, 640, aspect_ratio_bins='512'),
                         (416, 576))
        from diffusers.image_processor import PixArtImageProcessor
        from diffusers.pipelines.pixart_alpha.pipeline_pixart_alpha import \
            ASPECT_RATIO_512_BIN
        for h, w in ((640, 480), (352, 1216), (333, 333), (1000, 90)):
            self.assertEqual(
                processing_size(h, w, aspect_ratio_bins='512'),
                PixArtImageProcessor.classify_height_width_bin(
                    h, w, ASPECT_RATIO_512_BIN))
        self.assertEqual(processing_size(
            100, 100, aspect_ratio_bins={'0.5': (8, 16), '1.0': (24, 24)}),
            (24, 24))
        with self.assertRaisesRegex(ValueError, 'aspect_ratio_bins'):
            processing_size(10, 10, aspect_ratio_bins='333')
        x, size = resize_to_processing_res(torch.zeros(1, 3, 480, 640),
                                           aspect_ratio_bins='512')
        self.assertEqual((x.shape[-2:], size), ((416, 576), (480, 640)))

    def test_resize_and_restore(self):
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, 60),
                                torch.linspace(-1, 1, 90), indexing='ij')
        img = torch.stack([yy, xx, yy * xx])[None]
        small, size = resize_to_processing_res(img, 48, multiple=16)
        self.assertEqual(size, (60, 90))
        self.assertEqual(small.shape, (1, 3, 32, 48))
        back = restore_to_input_size(small, size)
        self.assertEqual(back.shape, (1, 3, 60, 90))
        # a smooth image survives the round trip away from the border
        self.assertLess((back - img)[..., 4:-4, 4:-4].abs().max().item(),
                        0.05)
        crop = img[..., :48, :80]
        same, size = resize_to_processing_res(crop, 0, 16)
        self.assertIs(same, crop)  # native size already fits: untouched
        self.assertEqual(size, (48, 80))
        const = torch.full((1, 1, 7, 9), 0.3)
        self.assertTrue(torch.allclose(
            restore_to_input_size(const, (30, 20)), const.new_full(
                (1, 1, 30, 20), 0.3)))
        with self.assertRaises(ValueError):
            restore_to_input_size(const[0], (3, 3))

    def test_depth_to_unit_range(self):
        d = torch.tensor([-1.0, 0.0, 1.0, 2.0, -3.0]).view(1, 1, 1, 5)
        out = depth_to_unit_range(d)
        self.assertTrue(torch.equal(out.flatten(),
                                    torch.tensor([0, 0.5, 1, 1, 0.])))
        three = torch.stack([d[0, 0] * 0 - 1, d[0, 0] * 0, d[0, 0] * 0 + 1])
        self.assertTrue(torch.allclose(depth_to_unit_range(three[None]),
                                       torch.full((1, 1, 1, 5), 0.5)))
        with self.assertRaises(ValueError):
            depth_to_unit_range(torch.zeros(1, 2, 3, 3))


if __name__ == '__main__':
    unittest.main()
