"""Undo the test-time geometry recorded in a sample's metainfo."""
from typing import Mapping

import torch
import torch.nn.functional as F

from unidense.utils.vector_ops import unit_vectors


def restore_to_original(pred: torch.Tensor, metainfo: Mapping,
                        mode: str = 'bilinear',
                        is_normal: bool = False) -> torch.Tensor:
    """Map a prediction made on the network input back to the file's pixels.

    Steps, each skipped when its metainfo key is absent: resize to
    ``pad_shape`` (if the prediction is at another stride), crop the
    ``padding`` (top, bottom, left, right), undo a horizontal ``flip``
    (negating the x component of normals), resize to ``ori_shape``.

    Args:
        pred: (C, h, w) prediction on the network input grid.
        metainfo: the sample's metainfo.
        mode: interpolation for the resizes ('nearest' for labels).
        is_normal: renormalise vectors after resizing and negate x on unflip.

    Returns:
        (C, H, W) tensor at ``ori_shape``.
    """
    if pred.dim() != 3:
        raise ValueError(f'restore_to_original expects (C, h, w), got '
                         f'{tuple(pred.shape)}')
    out = pred

    def resize(x, size):
        size = tuple(int(s) for s in size)
        if tuple(x.shape[-2:]) == size:
            return x
        kwargs = {} if mode == 'nearest' else dict(align_corners=False)
        y = F.interpolate(x[None].float(), size=size, mode=mode,
                          **kwargs)[0]
        return y.to(x.dtype) if mode == 'nearest' else y

    pad_shape = metainfo.get('pad_shape')
    if pad_shape is not None:
        out = resize(out, pad_shape[:2])
    padding = metainfo.get('padding')
    if padding is not None and any(padding):
        top, bottom, left, right = (int(p) for p in padding)
        h, w = out.shape[-2:]
        out = out[:, top:h - bottom, left:w - right]
    if metainfo.get('flip', False):
        direction = metainfo.get('flip_direction', 'horizontal')
        if direction != 'horizontal':
            raise ValueError(f'cannot undo flip_direction={direction!r}')
        out = out.flip(-1)
        if is_normal:
            out = out.clone()
            out[0] = -out[0]
    ori_shape = metainfo.get('ori_shape')
    if ori_shape is not None:
        out = resize(out, ori_shape[:2])
    if is_normal:
        out = unit_vectors(out, dim=0, eps=1e-6)
    return out
