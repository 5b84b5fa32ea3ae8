"""AngMFNLLLoss against hand-computed values (Bae et al. 2021)."""
import math

import pytest
import torch

from unidense.registry import MODELS


def _pair(angle_deg, kappa):
    a = math.radians(angle_deg)
    pred = torch.tensor([math.sin(a), 0.0, math.cos(a), kappa]).view(1, 4, 1)
    gt = torch.tensor([0.0, 0.0, 1.0]).view(1, 3, 1)
    return pred, gt


@pytest.mark.parametrize('angle,kappa', [(30.0, 2.0), (90.0, 0.5),
                                         (10.0, 10.0)])
def test_angmf_on_known_angles(angle, kappa):
    loss = MODELS.build(dict(type='AngMFNLLLoss'))
    pred, gt = _pair(angle, kappa)
    a = math.radians(angle)
    expected = (-math.log(kappa**2 + 1) + kappa * a +
                math.log(1 + math.exp(-kappa * math.pi)))
    assert loss(pred, gt).item() == pytest.approx(expected, rel=1e-5)


def test_vmf_on_known_angle_and_weight():
    loss = MODELS.build(dict(type='AngMFNLLLoss', distribution='vmf',
                             loss_weight=2.0))
    pred, gt = _pair(60.0, 3.0)
    c = 0.5
    expected = -math.log(3.0) - 3.0 * (c - 1) + math.log(1 - math.exp(-6.0))
    assert loss(pred, gt).item() == pytest.approx(2 * expected, rel=1e-5)


def test_mask_unnormalised_inputs_and_singular_pixels():
    loss = MODELS.build(dict(type='AngMFNLLLoss'))
    p1, gt = _pair(30.0, 2.0)
    p2, _ = _pair(0.0, 5.0)  # |c| = 1: excluded (acos singular)
    p3, _ = _pair(80.0, 1.0)  # masked out
    pred = torch.cat([p1 * torch.tensor([3., 3., 3., 1.]).view(1, 4, 1), p2,
                      p3], dim=2)
    target = gt.expand(1, 3, 3) * 2.0  # GT need not be unit length
    valid = torch.tensor([[[True, True, False]]])
    ref, _ = _pair(30.0, 2.0)
    assert loss(pred, target, valid).item() == pytest.approx(
        loss(ref, gt).item(), rel=1e-5)
    # nothing valid: zero, still differentiable
    pred.requires_grad_(True)
    z = loss(pred, target, torch.zeros_like(valid))
    z.backward()
    assert z.item() == 0.0 and pred.grad is not None


def test_gradient_lowers_angle_and_raises_confidence():
    loss = MODELS.build(dict(type='AngMFNLLLoss'))
    pred, gt = _pair(40.0, 1.0)
    pred = pred.view(1, 4, 1, 1).requires_grad_(True)
    loss(pred, gt.view(1, 3, 1, 1)).backward()
    # moving x towards 0 reduces the angle; at 40 deg the NLL prefers a
    # different kappa: the gradient is finite and non-zero everywhere
    assert pred.grad[0, 0].item() > 0
    assert torch.isfinite(pred.grad).all()
