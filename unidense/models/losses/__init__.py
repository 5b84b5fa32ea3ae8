"""Losses of the dense heads; each is called as ``loss(pred, target,
valid_mask)`` and returns a weighted scalar (``loss_weight``), reported
under ``loss_name``."""
from .affine_invariant_loss import AffineInvariantDepthLoss
from .angmf_nll_loss import AngMFNLLLoss
from .balanced_bce_loss import BalancedBCELoss
from .cross_entropy_loss import CrossEntropyLoss
from .l1_loss import L1Loss
from .silog_loss import SILogLoss

__all__ = ['AffineInvariantDepthLoss', 'AngMFNLLLoss', 'BalancedBCELoss', 'CrossEntropyLoss', 'L1Loss',
           'SILogLoss']
