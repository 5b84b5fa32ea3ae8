"""Shared base of the multi-task heads (InvPT, TaskPrompter): one output per task."""
from typing import Dict, Optional

import torch

from unidense.utils.vector_ops import unit_vectors
from .base_dense_head import BaseDenseHead
from .dense_targets import task_target

# InvPT / TaskPrompter loss and weight per task (brief 5.3).
DEFAULT_TASK_LOSSES = {
    'semseg': dict(type='CrossEntropyLoss', ignore_index=255),
    'parsing': dict(type='CrossEntropyLoss', ignore_index=255,
                    loss_weight=2.0),
    'saliency': dict(type='CrossEntropyLoss', balanced=True,
                     loss_weight=5.0),
    'depth': dict(type='L1Loss'),
    'normal': dict(type='L1Loss', normalize=True, loss_weight=10.0),
    'edge': dict(type='BalancedBCELoss', pos_weight=0.95, loss_weight=50.0),
}


class MultiTaskDenseHead(BaseDenseHead):
    """A head with one output map per task, ``num_outputs`` = task ->
    channels (in order; tasks: semseg, depth, normal, edge, parsing,
    saliency).

    ``losses``: one config per task in ``num_outputs`` order, or None for
    the InvPT / TaskPrompter defaults (``DEFAULT_TASK_LOSSES``: semseg CE x1,
    parsing CE x2, saliency balanced CE x5, depth L1 x1, normal L1 of the
    normalised prediction x10, edge balanced BCE (0.95) x50).

    ``loss_by_feat`` -> ``loss_<task>`` for every task (bilinear resize of
    the output to the GT size, then the task's loss with its target and
    mask). ``predict_by_feat`` -> at the padded input size: ``seg_logits``
    + ``sem_seg`` (argmax, (B, 1, H, W) long), ``parsing_logits`` +
    ``parsing``, ``depth`` (clamped >= 0), unit ``normal``, ``saliency``
    foreground probability (softmax of 2 channels, else sigmoid), ``edge``
    (sigmoid).
    """

    NYUD_OUTPUTS = dict(semseg=40, depth=1, normal=3, edge=1)

    def __init__(self, num_outputs: Dict[str, int], losses=None,
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None):
        num_outputs = dict(num_outputs)
        tasks = tuple(num_outputs)
        if losses is None:
            unknown = [t for t in tasks if t not in DEFAULT_TASK_LOSSES]
            if unknown:
                raise KeyError(f'{type(self).__name__}: no default loss for '
                               f'{unknown}; pass `losses`')
            losses = [DEFAULT_TASK_LOSSES[t] for t in tasks]
        if isinstance(losses, dict) or len(losses) != len(tasks):
            raise ValueError(f'{type(self).__name__}: one loss per task in '
                             f'order of {tasks}, got {losses!r}')
        super().__init__(tasks=tasks, losses=list(losses),
                         align_corners=align_corners, init_cfg=init_cfg)
        self.num_outputs = num_outputs

    def task_losses(self, outputs, data_samples, intermediate=False):
        """``loss_<task>`` (and ``loss_inter_<task>`` from the
        ``inter_<task>`` outputs when ``intermediate``)."""
        losses = {}
        for task, fn in zip(self.tasks, self.losses):
            gt, valid = task_target(data_samples, task, outputs[task].device)
            keys = [task]
            if intermediate and f'inter_{task}' in outputs:
                keys.append(f'inter_{task}')
            for key in keys:
                pred = self.resize(outputs[key], gt.shape[-2:])
                losses[f'loss_{key}'] = fn(pred, gt, valid)
        return losses

    def loss_by_feat(self, outputs, data_samples):
        return self.task_losses(outputs, data_samples)

    def predict_by_feat(self, outputs, data_samples
                        ) -> Dict[str, torch.Tensor]:
        size = self.input_size(data_samples)
        res = {}
        for task in self.tasks:
            p = self.resize(outputs[task], size)
            if task == 'semseg':
                res['seg_logits'] = p
                res['sem_seg'] = p.argmax(1, keepdim=True)
            elif task == 'parsing':
                res['parsing_logits'] = p
                res['parsing'] = p.argmax(1, keepdim=True)
            elif task == 'depth':
                res['depth'] = p.clamp(min=0)
            elif task == 'normal':
                res['normal'] = unit_vectors(p, dim=1)
            elif task == 'saliency':
                res['saliency'] = p.softmax(1)[:, 1:] if p.shape[1] == 2 \
                    else p.sigmoid()
            elif task == 'edge':
                res['edge'] = p.sigmoid()
            else:
                res[task] = p
        return res
