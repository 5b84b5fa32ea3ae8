"""SILogLoss against a direct formula (VPD / mmseg and iDisc settings)."""
import pytest
import torch

from unidense.registry import MODELS


def _direct(pred, gt, lam, unbiased=False, scale=1.0, eps=0.0):
    g = torch.log(gt) - torch.log(pred)
    var = g.var(unbiased=unbiased)
    return scale * torch.sqrt(var + (1 - lam) * g.mean()**2 + eps)


def test_vpd_per_image_matches_mean_of_direct_formula():
    torch.manual_seed(0)
    pred = torch.rand(2, 1, 4, 5) + 0.5
    gt = torch.rand(2, 1, 4, 5) + 0.5
    gt[0, 0, 0, :3] = 0  # invalid (gt == 0)
    loss = MODELS.build(dict(type='SILogLoss', variance_focus=0.5,
                             sqrt_eps=0.0))
    v0 = gt[0] > 0
    e0 = _direct(pred[0][v0], gt[0][v0], 0.5)
    e1 = _direct(pred[1].flatten(), gt[1].flatten(), 0.5)
    assert loss(pred, gt).item() == pytest.approx(((e0 + e1) / 2).item(),
                                                  rel=1e-5)
    # the usual form sqrt(mean(g^2) - lambda mean(g)^2)
    g = torch.log(gt[1]) - torch.log(pred[1])
    usual = torch.sqrt((g**2).mean() - 0.5 * g.mean()**2)
    assert e1.item() == pytest.approx(usual.item(), rel=1e-5)


def test_idisc_batch_unbiased_scaled():
    torch.manual_seed(1)
    pred = torch.rand(2, 1, 3, 3) + 0.2
    gt = torch.rand(2, 1, 3, 3) + 0.2
    valid = torch.rand(2, 1, 3, 3) > 0.3
    loss = MODELS.build(dict(type='SILogLoss', variance_focus=0.85,
                             scale=10.0, unbiased=True, reduction='batch',
                             sqrt_eps=1e-6))
    expected = _direct(pred[valid], gt[valid], 0.85, unbiased=True,
                       scale=10.0, eps=1e-6)
    assert loss(pred, gt, valid).item() == pytest.approx(expected.item(),
                                                         rel=1e-5)


def test_scale_invariance_and_gradient():
    gt = torch.rand(1, 1, 4, 4) + 0.5
    loss = MODELS.build(dict(type='SILogLoss', variance_focus=1.0,
                             sqrt_eps=0.0))
    # lambda = 1: a global scale error costs nothing
    assert loss(gt * 3.0, gt).item() == pytest.approx(0.0, abs=1e-3)
    pred = (gt * torch.rand_like(gt)).requires_grad_(True)
    MODELS.build(dict(type='SILogLoss'))(pred, gt).backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
