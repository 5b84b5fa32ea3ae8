"""Balanced binary cross-entropy (InvPT / TaskPrompter edges)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from unidense.registry import MODELS


@MODELS.register_module()
class BalancedBCELoss(nn.Module):
    """``pos_weight * BCE_pos + (1 - pos_weight) * BCE_neg``, mean over valid.

    ATRC/InvPT ``BalancedBinaryCrossEntropyLoss`` with a fixed positive
    weight (edges: 0.95). With ``pos_weight=None`` the weight is the batch's
    fraction of negatives.

    Args:
        pos_weight (float, optional): weight w of the positive term.
        ignore_index (int): target value to skip (255).
        loss_weight (float), loss_name (str).

    ``forward(pred, target, valid_mask=None)``: pred (B, 1, H, W) logits,
    target (B, 1, H, W) in {0, 1} (or ``ignore_index``), valid_mask
    optional bool. Scalar.
    """

    def __init__(self, pos_weight=0.95, ignore_index=255, loss_weight=1.0,
                 loss_name='loss_bce'):
        super().__init__()
        self.pos_weight = pos_weight
        self.ignore_index = ignore_index
        self.loss_weight = float(loss_weight)
        self.loss_name = loss_name

    def forward(self, pred, target, valid_mask=None):
        target = target.to(pred.dtype)
        valid = target != self.ignore_index
        if valid_mask is not None:
            valid = valid & valid_mask.bool()
        if not bool(valid.any()):
            return pred.sum() * 0.0
        x, y = pred[valid], target[valid]
        w = torch.as_tensor(
            (1.0 - y).sum() / y.numel() if self.pos_weight is None else
            self.pos_weight, dtype=pred.dtype, device=pred.device)
        if float(w) >= 1.0:
            return pred.sum() * 0.0
        factor = 1.0 / (1.0 - w)
        loss = F.binary_cross_entropy_with_logits(
            x, y, pos_weight=w * factor) / factor
        return self.loss_weight * loss
