"""Bae et al.'s negative log-likelihood losses for normals with a concentration."""
import math

import torch
import torch.nn as nn

from unidense.registry import MODELS
from unidense.utils.vector_ops import cosine_similarity


@MODELS.register_module()
class AngMFNLLLoss(nn.Module):
    """NLL of the angular von Mises-Fisher (AngMF) or vMF distribution.

    Bae et al., "Estimating and Exploiting the Aleatoric Uncertainty in
    Surface Normal Estimation", ICCV 2021 (``NLL_ours`` / ``NLL_vMF`` of the
    official ``utils/losses.py``); also iDisc's normal loss
    (``AngularLoss``). Per pixel, with ``c = <n_pred / |n_pred|, n_gt /
    |n_gt|>``:

    * ``'angmf'``: ``-log(kappa^2 + 1) + kappa * acos(c) + log(1 + exp(-kappa
      * pi))``
    * ``'vmf'``: ``-log(kappa) - kappa * (c - 1) + log(1 - exp(-2 kappa))``

    averaged over pixels that are valid and have ``|c| < 0.999`` (the acos
    gradient is singular at +-1; the mask is taken on detached values, as
    the reference does).

    Args:
        distribution (str): ``'angmf'`` (default, Diff-2-in-1 / Bae
            ``UG_NLL_ours``) or ``'vmf'``.
        loss_weight (float): multiplies the loss.
        loss_name (str): key the heads report it under.

    ``forward(pred, target, valid_mask=None)``:
        pred (Tensor): (B, 4, ...) xyz (any length, normalised here) and
            kappa > 0 in channel 3 (e.g. ``ELU + 1.01`` of a raw output).
        target (Tensor): (B, 3, ...) ground-truth normals (need not be unit
            length: Diff-2-in-1 resizes them bilinearly).
        valid_mask (Tensor, optional): (B, 1, ...) or (B, ...) bool.
        Returns a scalar; 0 (still attached to ``pred``) if no pixel counts.
    """

    def __init__(self, distribution='angmf', loss_weight=1.0,
                 loss_name='loss_angmf'):
        super().__init__()
        if distribution not in ('angmf', 'vmf'):
            raise ValueError(f'AngMFNLLLoss: distribution={distribution!r} '
                             "must be 'angmf' or 'vmf'")
        self.distribution = distribution
        self.loss_weight = float(loss_weight)
        self.loss_name = loss_name

    def pixelwise(self, cos, kappa):
        """NLL for cosines ``cos`` and concentrations ``kappa`` (same
        shape), without masking."""
        if self.distribution == 'angmf':
            return (-torch.log(kappa.square() + 1) + kappa * torch.acos(cos) +
                    torch.log(1 + torch.exp(-kappa * math.pi)))
        return (-torch.log(kappa) - kappa * (cos - 1) +
                torch.log(1 - torch.exp(-2 * kappa)))

    def forward(self, pred, target, valid_mask=None):
        if pred.shape[1] != 4 or target.shape[1] != 3:
            raise ValueError('AngMFNLLLoss: pred must be (B, 4, ...) and '
                             f'target (B, 3, ...), got {tuple(pred.shape)} '
                             f'and {tuple(target.shape)}')
        cos = cosine_similarity(pred[:, :3], target.to(pred.dtype), dim=1)
        kappa = pred[:, 3]
        valid = (cos.detach().abs() < 0.999)
        if valid_mask is not None:
            if valid_mask.dim() == pred.dim():
                valid_mask = valid_mask[:, 0]
            valid = valid & valid_mask.bool()
        if not bool(valid.any()):
            return pred.sum() * 0.0
        loss = self.pixelwise(cos[valid], kappa[valid]).mean()
        return self.loss_weight * loss
