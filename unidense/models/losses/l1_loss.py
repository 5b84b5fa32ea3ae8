"""Masked L1 loss (InvPT / TaskPrompter depth and normals)."""
import torch.nn as nn

from unidense.registry import MODELS
from unidense.utils.vector_ops import unit_vectors


@MODELS.register_module()
class L1Loss(nn.Module):
    """Sum of absolute channel differences, averaged over valid pixels.

    InvPT / TaskPrompter (ATRC's ``L1Loss``): depth ``|pred - gt|`` over
    valid pixels; normals with ``normalize=True``: the prediction is
    L2-normalised over channels first and the absolute differences of the
    3 channels are summed per pixel before averaging over valid pixels.

    Args:
        normalize (bool): L2-normalise ``pred`` over dim 1 first.
        loss_weight (float), loss_name (str).

    ``forward(pred, target, valid_mask=None)``: pred, target (B, C, ...),
    valid_mask (B, 1, ...) bool or None (all valid). Scalar.
    """

    def __init__(self, normalize=False, loss_weight=1.0, loss_name='loss_l1'):
        super().__init__()
        self.normalize = normalize
        self.loss_weight = float(loss_weight)
        self.loss_name = loss_name

    def forward(self, pred, target, valid_mask=None):
        if self.normalize:
            pred = unit_vectors(pred, dim=1)
        err = (pred - target.to(pred.dtype)).abs().sum(1, keepdim=True)
        if valid_mask is None:
            return self.loss_weight * err.mean()
        valid = valid_mask.bool()
        if valid.dim() < err.dim():
            valid = valid.unsqueeze(1)
        n = valid.sum()
        if int(n) == 0:
            return pred.sum() * 0.0
        return self.loss_weight * (err * valid).sum() / n
