"""CrossEntropyLoss (ignore index, InvPT saliency balancing)."""
import pytest
import torch
import torch.nn.functional as F

from unidense.registry import MODELS


def test_ignore_index_and_valid_mask():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 3, 4, requires_grad=True)
    labels = torch.randint(0, 5, (2, 1, 3, 4))
    labels[0, 0, 0] = 255
    loss = MODELS.build(dict(type='CrossEntropyLoss'))
    keep = labels[:, 0] != 255
    per_pixel = F.cross_entropy(logits, labels[:, 0].clamp(max=4),
                                reduction='none')
    expected = per_pixel[keep].mean()
    out = loss(logits, labels)
    assert out.item() == pytest.approx(expected.item(), rel=1e-5)
    out.backward()
    assert logits.grad[0, :, 0].abs().sum() == 0  # ignored row
    valid = torch.ones(2, 1, 3, 4, dtype=torch.bool)
    valid[1, 0, 1] = False
    keep2 = keep.clone()
    keep2[1, 1] = False
    assert loss(logits, labels, valid).item() == pytest.approx(
        per_pixel[keep2].mean().item(), rel=1e-5)


def test_balanced_binary_weights_as_invpt():
    torch.manual_seed(0)
    logits = torch.randn(1, 2, 2, 5)
    sal = torch.tensor([[[[1., 0., 0., 0., 0.], [1., 1., 0., 0., 0.]]]])
    loss = MODELS.build(dict(type='CrossEntropyLoss', balanced=True,
                             loss_weight=5.0))
    labels = sal[:, 0].long()
    w_pos = 7 / 10  # fraction of negatives
    per_pixel = F.cross_entropy(logits, labels,
                                weight=torch.tensor([1 - w_pos, w_pos]),
                                reduction='none')
    expected = 5.0 * per_pixel.sum() / 10
    assert loss(logits, sal).item() == pytest.approx(expected.item(),
                                                     rel=1e-5)
