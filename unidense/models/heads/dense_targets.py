"""Task name -> ground-truth map and validity mask from DenseDataSample lists.

Shared by every head so that task names mean the same everywhere:

========== ====================== ==========================================
task       field                  valid
========== ====================== ==========================================
depth      ``gt_depth`` (1, H, W)  ``gt_depth_valid`` if set, else ``gt > 0``
normal     ``gt_normal`` (3, H, W) ``gt_normal_valid`` if set, else non-zero
semseg     ``gt_sem_seg`` long     labels != 255 (the losses ignore 255)
parsing    ``gt_parsing`` long     as semseg
saliency   ``gt_saliency`` [0, 1]  all pixels
edge       ``gt_edge`` {0, 1}      labels != 255 (field set by a transform)
========== ====================== ==========================================
"""
from typing import Optional, Sequence, Tuple

import torch

from unidense.structures.dense_data_sample import stack_pixel_field

TASK_FIELDS = {
    'depth': ('gt_depth', 'gt_depth_valid'),
    'normal': ('gt_normal', 'gt_normal_valid'),
    'semseg': ('gt_sem_seg', None),
    'parsing': ('gt_parsing', None),
    'saliency': ('gt_saliency', None),
    'edge': ('gt_edge', None),
}


def task_target(data_samples: Sequence, task: str, device=None
                ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """``(target (B, C, H, W), valid (B, 1, H, W) bool or None)``."""
    if task not in TASK_FIELDS:
        raise KeyError(f'unknown task {task!r}; known: {sorted(TASK_FIELDS)}')
    field, valid_field = TASK_FIELDS[task]
    target = stack_pixel_field(data_samples, field)
    if target is None:
        raise KeyError(f'task {task!r} needs `{field}` on the data samples')
    valid = stack_pixel_field(data_samples, valid_field) \
        if valid_field else None
    if valid is not None:
        valid = valid.bool()
    elif task == 'depth':
        valid = target > 0
    elif task == 'normal':
        valid = target.abs().sum(1, keepdim=True) > 0
    if device is not None:
        target = target.to(device)
        valid = None if valid is None else valid.to(device)
    return target, valid
