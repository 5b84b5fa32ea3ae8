"""Affine-invariant depth loss (scale-and-shift invariant, MiDaS / E2E-FT)."""
import torch
import torch.nn as nn

from unidense.registry import MODELS


@MODELS.register_module()
class AffineInvariantDepthLoss(nn.Module):
    """Mean absolute error after the least-squares scale and shift.

    Per image, ``(s, t) = argmin sum_valid (s * pred + t - target)^2`` is
    solved in closed form (differentiable, float32 at least) and the loss is
    ``mean_valid |s * pred + t - target|``, averaged over the images: the
    task loss of end-to-end fine-tuning for affine-invariant depth (Garcia
    et al., WACV 2025, after MiDaS). A prediction that is constant on the
    valid pixels has no scale to fit; ``t`` then absorbs the mean.

    Args:
        loss_weight (float): multiplier of the loss.
        loss_name (str): key in the loss dict.

    ``forward(pred (B, 1, H, W), target (B, 1, H, W), valid_mask (B, 1, H,
    W) bool or None)`` -> scalar; images without a valid pixel are left
    out (zero loss, still in the graph, if none has one).
    """

    def __init__(self, loss_weight: float = 1.0,
                 loss_name: str = 'loss_affine_l1'):
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.loss_name = loss_name

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                valid_mask=None) -> torch.Tensor:
        if pred.shape != target.shape or pred.dim() != 4:
            raise ValueError(f'AffineInvariantDepthLoss: pred '
                             f'{tuple(pred.shape)} and target '
                             f'{tuple(target.shape)} must be the same '
                             f'(B, 1, H, W)')
        p = pred.float().flatten(1)
        g = target.float().flatten(1)
        m = (torch.ones_like(p, dtype=torch.bool) if valid_mask is None else
             valid_mask.reshape(p.shape).bool()) & torch.isfinite(g)
        w = m.float()
        g = torch.where(m, g, torch.zeros_like(g))
        p = torch.where(m, p, torch.zeros_like(p))
        n = w.sum(1)
        keep = n >= 2
        n = n.clamp_min(1)
        p_mean = (p * w).sum(1) / n
        g_mean = (g * w).sum(1) / n
        pc = (p - p_mean[:, None]) * w
        gc = (g - g_mean[:, None]) * w
        var = (pc * pc).sum(1)
        scale = (pc * gc).sum(1) / var.clamp_min(1e-12)
        shift = g_mean - scale * p_mean
        err = ((scale[:, None] * p + shift[:, None] - g).abs() * w).sum(1) / n
        if not bool(keep.any()):
            return pred.sum() * 0.0
        return self.loss_weight * err[keep].mean()
