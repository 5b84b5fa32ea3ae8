"""L1Loss (InvPT depth / normals) and BalancedBCELoss (edges)."""
import pytest
import torch
import torch.nn.functional as F

from unidense.registry import MODELS


def test_l1_depth_masked_mean():
    pred = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    gt = torch.tensor([[[[1.5, 0.0], [2.0, 4.0]]]])
    loss = MODELS.build(dict(type='L1Loss'))
    assert loss(pred, gt, gt > 0).item() == pytest.approx((0.5 + 1.0 + 0) /
                                                          3)


def test_l1_normals_normalised_sum_over_channels():
    pred = torch.tensor([3.0, 0.0, 4.0]).view(1, 3, 1, 1)
    gt = torch.tensor([0.0, 0.0, 1.0]).view(1, 3, 1, 1)
    loss = MODELS.build(dict(type='L1Loss', normalize=True,
                             loss_weight=10.0))
    # normalised pred (0.6, 0, 0.8): |0.6| + 0 + |0.2| = 0.8, x10
    assert loss(pred, gt).item() == pytest.approx(8.0, rel=1e-6)


def test_balanced_bce_fixed_weight():
    torch.manual_seed(0)
    x = torch.randn(1, 1, 2, 3)
    y = torch.tensor([[[[1., 0., 0.], [0., 255., 1.]]]])
    loss = MODELS.build(dict(type='BalancedBCELoss', pos_weight=0.95))
    keep = y != 255
    xs, ys = x[keep], y[keep]
    per = -(0.95 * ys * F.logsigmoid(xs) + 0.05 * (1 - ys) *
            F.logsigmoid(-xs))
    assert loss(x, y).item() == pytest.approx(per.mean().item(), rel=1e-5)
