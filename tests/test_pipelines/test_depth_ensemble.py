"""Marigold-style affine-invariant depth ensembling."""
import unittest

import pytest
import torch

import unidense.pipelines  # noqa: F401  (registers DepthEnsemble)
from unidense.pipelines import DepthEnsemble, ensemble_depth
from unidense.registry import TASK_UTILS

SCALES = torch.tensor([0.5, 2.0, 1.3, 0.8, 3.0]).view(-1, 1, 1, 1)
SHIFTS = torch.tensor([0.1, -0.4, 2.0, 0.0, -1.0]).view(-1, 1, 1, 1)


def _depth(h=24, w=32):
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w),
                            indexing='ij')
    d = 0.6 * yy + 0.4 * xx**2 + 0.1 * torch.sin(9 * xx)
    d = (d - d.min()) / (d.max() - d.min())
    return d.view(1, 1, h, w)


class TestEnsembleDepth(unittest.TestCase):

    def test_identical_members(self):
        d = _depth()
        for reduction in ('median', 'mean'):
            out, unc = ensemble_depth(d.repeat(5, 1, 1, 1),
                                      output_uncertainty=True,
                                      reduction=reduction)
            self.assertEqual(out.shape, (1, 1, 24, 32))
            self.assertLess((out - d).abs().max().item(), 1e-6)
            self.assertEqual(unc.abs().max().item(), 0.0)

    def test_affine_copies_are_aligned_back(self):
        d = _depth()
        members = d.repeat(5, 1, 1, 1) * SCALES + SHIFTS
        for reduction in ('median', 'mean'):
            out, unc = ensemble_depth(members, output_uncertainty=True,
                                      reduction=reduction)
            self.assertLess((out - d).abs().max().item(), 1e-3)
            self.assertLess(unc.abs().max().item(), 1e-3)
        out, _ = ensemble_depth(members, max_iter=50, tol=1e-6)
        self.assertLess((out - d).abs().max().item(), 1e-3)

    def test_works_without_grad_mode(self):
        d = _depth()
        members = d.repeat(3, 1, 1, 1) * SCALES[:3] + SHIFTS[:3]
        with torch.no_grad():
            out, _ = ensemble_depth(members)
        self.assertLess((out - d).abs().max().item(), 1e-3)
        with torch.inference_mode():
            members = d.repeat(3, 1, 1, 1) * SCALES[:3] + SHIFTS[:3]
            out, _ = ensemble_depth(members)
        self.assertLess((out - d).abs().max().item(), 1e-3)
        self.assertFalse(out.requires_grad)

    def test_scale_only(self):
        d = _depth() + 0.5  # positive, min not 0
        members = d.repeat(5, 1, 1, 1) * SCALES
        out, _ = ensemble_depth(members, shift_invariant=False)
        self.assertLess((out - d / d.max()).abs().max().item(), 1e-3)
        with self.assertRaisesRegex(ValueError, 'shift-only'):
            ensemble_depth(members, scale_invariant=False)

    def test_metric_members_are_just_reduced(self):
        d = _depth()
        members = torch.cat([d, d + 0.1, d + 0.3])
        out, unc = ensemble_depth(members, scale_invariant=False,
                                  shift_invariant=False,
                                  output_uncertainty=True, reduction='mean')
        self.assertTrue(torch.allclose(out, d + 0.4 / 3, atol=1e-6))
        self.assertTrue(torch.allclose(unc, torch.full_like(d, members[
            :, 0, 0, 0].std().item()), atol=1e-6))

    def test_noisy_members_beat_single_members(self):
        g = torch.Generator().manual_seed(0)
        d = _depth()
        noisy = (d + 0.03 * torch.randn(5, 1, 24, 32, generator=g))
        noisy = noisy * SCALES + SHIFTS
        single = [((m - m.min()) / (m.max() - m.min()) - d).abs().mean()
                  for m in noisy]
        out, unc = ensemble_depth(noisy, output_uncertainty=True)
        err = (out - d).abs().mean().item()
        self.assertLess(err, min(single).item())
        self.assertGreater(unc.mean().item(), 0.0)

    def test_collapse_guard_keeps_a_usable_result(self):
        # one member with a large outlier blob: the objective then prefers
        # shrinking all members (s -> 0); the guard keeps the min-max start
        d = _depth()
        members = d.repeat(5, 1, 1, 1) * SCALES + SHIFTS
        members[2, :, :4, :4] += 10.0
        for max_iter in (2, 50):
            out, _ = ensemble_depth(members, max_iter=max_iter, tol=1e-6)
            self.assertLess((out - d).abs()[..., 4:, 4:].max().item(), 0.05)

    def test_max_res_downsampled_alignment(self):
        d = torch.nn.functional.interpolate(_depth(), size=(150, 200),
                                            mode='bilinear')
        d = (d - d.min()) / (d.max() - d.min())
        members = d.repeat(4, 1, 1, 1) * SCALES[:4] + SHIFTS[:4]
        out, _ = ensemble_depth(members, max_res=50)
        self.assertEqual(out.shape, (1, 1, 150, 200))
        self.assertLess((out - d).abs().max().item(), 1e-3)

    def test_single_member_and_errors(self):
        d = _depth()
        out, unc = ensemble_depth(d * 3, output_uncertainty=True)
        self.assertTrue(torch.equal(out, d * 3))
        self.assertEqual(unc.abs().sum().item(), 0)
        with self.assertRaisesRegex(ValueError, r'\(E, 1, H, W\)'):
            ensemble_depth(d[0])
        with self.assertRaisesRegex(ValueError, 'reduction'):
            ensemble_depth(d.repeat(2, 1, 1, 1), reduction='max')
        bad = d.repeat(2, 1, 1, 1)
        bad[0, 0, 0, 0] = float('nan')
        with self.assertRaisesRegex(ValueError, 'NaN'):
            ensemble_depth(bad)

    def test_registered_wrapper(self):
        ens = TASK_UTILS.build(
            dict(type='DepthEnsemble', reduction='mean',
                 output_uncertainty=True))
        self.assertIsInstance(ens, DepthEnsemble)
        d = _depth()
        out, unc = ens(d.repeat(3, 1, 1, 1) * SCALES[:3] + SHIFTS[:3])
        self.assertLess((out - d).abs().max().item(), 1e-3)
        self.assertIsNotNone(unc)
        self.assertIn("reduction='mean'", repr(ens))


if __name__ == '__main__':
    unittest.main()


@pytest.mark.parametrize('shape, kwargs', [
    ((5, 1, 24, 32), {}),
    ((4, 1, 40, 30), dict(max_res=16)),
    ((3, 1, 16, 16), dict(reduction='mean', output_uncertainty=True)),
    ((4, 1, 20, 20), dict(shift_invariant=False)),
])
def test_default_equals_diffusers_marigold_ensembling(shape, kwargs):
    """The default solver is diffusers' MarigoldDepthPipeline.ensemble_depth
    on the same inputs (the analytic solver is the documented option)."""
    from diffusers import MarigoldDepthPipeline
    gen = torch.Generator().manual_seed(sum(shape))
    members = torch.rand(shape, generator=gen) * torch.rand(
        shape[0], 1, 1, 1, generator=gen) + torch.rand(
            shape[0], 1, 1, 1, generator=gen)
    ref, ref_unc = MarigoldDepthPipeline.ensemble_depth(members.clone(),
                                                        **kwargs)
    out, unc = ensemble_depth(members.clone(), **kwargs)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)
    if ref_unc is not None:
        torch.testing.assert_close(unc, ref_unc, atol=1e-5, rtol=0)
    analytic, _ = ensemble_depth(members.clone(), solver='analytic',
                                 **kwargs)
    assert analytic.shape == ref.shape
    with pytest.raises(ValueError, match='solver'):
        ensemble_depth(members, solver='newton')
