"""Pixel-wise cross-entropy with an ignore index (and InvPT's class balance)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from unidense.registry import MODELS


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """Cross-entropy over class logits, averaged over non-ignored pixels.

    Semantic segmentation (VPD / mmseg, InvPT, TaskPrompter), human parts and
    - with ``balanced=True`` - InvPT/TaskPrompter saliency: two classes with
    per-batch weights ``(w_neg, w_pos) = (fraction of positives, fraction of
    negatives)``; the weighted per-pixel losses are summed and divided by
    the number of valid pixels (not by the sum of weights), as the
    reference.

    Args:
        ignore_index (int): label to skip (255).
        class_weight (list[float], optional): per-class weights.
        balanced (bool): the binary balancing above.
        loss_weight (float), loss_name (str).

    ``forward(pred, target, valid_mask=None)``:
        pred (Tensor): (B, K, H, W) logits.
        target (Tensor): (B, 1, H, W) or (B, H, W) long labels in
            [0, K) or ``ignore_index``; a float target (saliency in [0, 1])
            is binarised at 0.5.
        valid_mask (Tensor, optional): (B, 1, H, W) bool; False pixels are
            ignored too.
    """

    def __init__(self, ignore_index=255, class_weight=None, balanced=False,
                 loss_weight=1.0, loss_name='loss_ce'):
        super().__init__()
        if balanced and class_weight is not None:
            raise ValueError('CrossEntropyLoss: balanced and class_weight '
                             'exclude each other')
        self.ignore_index = int(ignore_index)
        self.balanced = balanced
        if class_weight is not None:
            self.register_buffer('class_weight',
                                 torch.as_tensor(class_weight,
                                                 dtype=torch.float))
        else:
            self.class_weight = None
        self.loss_weight = float(loss_weight)
        self.loss_name = loss_name

    def forward(self, pred, target, valid_mask=None):
        if target.dim() == pred.dim():
            target = target[:, 0]
        if target.is_floating_point():
            target = (target > 0.5).long()
        target = target.long()
        if valid_mask is not None:
            if valid_mask.dim() == pred.dim():
                valid_mask = valid_mask[:, 0]
            target = target.masked_fill(~valid_mask.bool(), self.ignore_index)
        valid = target != self.ignore_index
        n_valid = valid.sum()
        if int(n_valid) == 0:
            return pred.sum() * 0.0
        weight = self.class_weight
        if self.balanced:
            labels = target[valid]
            if int(labels.max()) > 1 or pred.shape[1] != 2:
                raise ValueError('CrossEntropyLoss: balanced=True needs two '
                                 'classes')
            w_pos = (1.0 - labels.float()).sum() / labels.numel()
            weight = torch.stack([1.0 - w_pos, w_pos]).to(pred.dtype)
        loss = F.cross_entropy(pred, target, weight=weight,
                               ignore_index=self.ignore_index,
                               reduction='none')
        return self.loss_weight * loss.sum() / n_valid
