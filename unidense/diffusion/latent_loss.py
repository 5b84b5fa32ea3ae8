"""Losses on latents of pixel-space targets."""
from typing import Optional

import torch
import torch.nn.functional as F


def masked_latent_mse(pred: torch.Tensor, target: torch.Tensor,
                      valid: Optional[torch.Tensor],
                      stride: int) -> torch.Tensor:
    """MSE over the latent cells whose whole ``stride`` x ``stride`` pixel
    block is valid (max-pool of the invalid mask; Marigold / MERGE-B).

    Args:
        pred, target: (B, C, h, w) latents.
        valid: (B, 1, h * stride, w * stride) bool pixel mask, or None (all
            cells count).
        stride: the VAE's downsampling factor.
    """
    sq = (pred.float() - target.float())**2
    if valid is None:
        return sq.mean()
    invalid = (~valid.to(pred.device).bool()).float()
    cell_invalid = F.max_pool2d(invalid, kernel_size=stride, stride=stride)
    mask = (cell_invalid < 0.5).expand_as(sq).float()
    return (sq * mask).sum() / mask.sum().clamp(min=1.0)
