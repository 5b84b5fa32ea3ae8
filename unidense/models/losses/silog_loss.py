"""Scale-invariant logarithmic depth loss (Eigen et al. 2014)."""
import torch
import torch.nn as nn

from unidense.registry import MODELS


@MODELS.register_module()
class SILogLoss(nn.Module):
    """SILog: ``scale * sqrt(Var(g) + (1 - lambda) * mean(g)^2 + sqrt_eps)``.

    ``g = log(gt) - log(pred)`` over valid pixels. With the biased variance
    this is the usual ``sqrt(mean(g^2) - lambda * mean(g)^2)``.

    * VPD (mmseg ``SiLogLoss``): ``variance_focus=0.5``, per image then
      averaged (``reduction='image'``), logs of values clamped at ``eps``;
      the official VPD code pools over the batch (``reduction='batch'``).
    * iDisc: ``variance_focus=0.85`` (its ``0.15 * mean^2``), ``scale=10``,
      ``unbiased=True``, ``reduction='batch'``, ``sqrt_eps=1e-6``.

    Args:
        variance_focus (float): lambda in [0, 1].
        scale (float): multiplies the root (iDisc 10).
        reduction (str): ``'image'`` or ``'batch'``.
        unbiased (bool): unbiased variance (iDisc's ``torch.var``).
        eps (float): clamp before the logs; pixels with ``gt <= eps`` are
            invalid.
        sqrt_eps (float): added under the root (keeps the gradient finite
            for a perfect prediction).
        loss_weight (float), loss_name (str).

    ``forward(pred, target, valid_mask=None)``: pred, target (B, 1, H, W)
    depths (> 0, metres), valid_mask (B, 1, H, W) bool or None. Returns a
    scalar (0 attached to ``pred`` if nothing is valid).
    """

    def __init__(self, variance_focus=0.5, scale=1.0, reduction='image',
                 unbiased=False, eps=1e-6, sqrt_eps=1e-6, loss_weight=1.0,
                 loss_name='loss_silog'):
        super().__init__()
        if reduction not in ('image', 'batch'):
            raise ValueError(f'SILogLoss: reduction={reduction!r} must be '
                             "'image' or 'batch'")
        self.variance_focus = float(variance_focus)
        self.scale = float(scale)
        self.reduction = reduction
        self.unbiased = unbiased
        self.eps = float(eps)
        self.sqrt_eps = float(sqrt_eps)
        self.loss_weight = float(loss_weight)
        self.loss_name = loss_name

    def _root(self, g, m):
        n = m.sum(-1)
        mean = (g * m).sum(-1) / n.clamp(min=1)
        var = ((g - mean.unsqueeze(-1)).square() * m).sum(-1)
        var = var / (n - 1).clamp(min=1) if self.unbiased else \
            var / n.clamp(min=1)
        val = var + (1 - self.variance_focus) * mean.square() + self.sqrt_eps
        return self.scale * torch.sqrt(val.clamp(min=0)), n > 0

    def forward(self, pred, target, valid_mask=None):
        target = target.to(pred.dtype)
        valid = target > self.eps
        if valid_mask is not None:
            valid = valid & valid_mask.bool()
        g = torch.log(target.clamp(min=self.eps)) - torch.log(
            pred.clamp(min=self.eps))
        m = valid.to(pred.dtype)
        g = g * m
        if self.reduction == 'batch':
            root, ok = self._root(g.reshape(1, -1), m.reshape(1, -1))
        else:
            root, ok = self._root(g.flatten(1), m.flatten(1))
        if not bool(ok.any()):
            return pred.sum() * 0.0
        return self.loss_weight * root[ok].mean()
