"""Evaluation masks of the depth protocols: valid range and benchmark crops."""
from typing import Optional, Sequence, Union

import numpy as np

__all__ = ['DEPTH_CROPS', 'crop_mask', 'depth_eval_mask']

#: Named crops. ``eigen_nyu`` is fixed pixel indices on the 480x640 NYUv2
#: frame (rows 45:471, cols 41:601); the KITTI crops are fractions of the
#: (KB-cropped, 352x1216) frame as in Marigold's and BTS's evaluation code.
DEPTH_CROPS = {
    'eigen_nyu': dict(rows=(45, 471), cols=(41, 601), shape=(480, 640)),
    'eigen_kitti': dict(rows=(0.3324324, 0.91351351),
                        cols=(0.0359477, 0.96405229)),
    'garg_kitti': dict(rows=(0.40810811, 0.99189189),
                       cols=(0.03594771, 0.96405229)),
}


def crop_mask(shape: Sequence[int],
              crop: Union[None, str, Sequence[int]]) -> Optional[np.ndarray]:
    """Bool (H, W) mask of a benchmark crop.

    Args:
        shape: (H, W) of the ground truth.
        crop: ``None``, a name in :data:`DEPTH_CROPS`, or pixel bounds
            ``(top, bottom, left, right)`` (bottom/right exclusive).

    Returns:
        The mask, or ``None`` for no crop.
    """
    if crop is None:
        return None
    h, w = int(shape[0]), int(shape[1])
    if isinstance(crop, str):
        if crop not in DEPTH_CROPS:
            raise ValueError(f'unknown depth crop {crop!r}; choose from '
                             f'{sorted(DEPTH_CROPS)} or give (top, bottom, '
                             f'left, right)')
        spec = DEPTH_CROPS[crop]
        if 'shape' in spec:
            if (h, w) != spec['shape']:
                raise ValueError(
                    f'crop {crop!r} is defined on {spec["shape"]} frames, '
                    f'got ground truth of shape {(h, w)}; evaluate at the '
                    f"file's resolution or choose another crop")
            top, bottom = spec['rows']
            left, right = spec['cols']
        else:
            top, bottom = (int(f * h) for f in spec['rows'])
            left, right = (int(f * w) for f in spec['cols'])
    else:
        if len(crop) != 4:
            raise ValueError(f'crop must be a name or (top, bottom, left, '
                             f'right), got {crop!r}')
        top, bottom, left, right = (int(c) for c in crop)
    mask = np.zeros((h, w), dtype=bool)
    mask[top:bottom, left:right] = True
    return mask


def depth_eval_mask(gt: np.ndarray, min_depth: Optional[float] = None,
                    max_depth: Optional[float] = None, crop=None,
                    valid: Optional[np.ndarray] = None) -> np.ndarray:
    """Pixels that count: ``min_depth < gt < max_depth`` (strict, as in
    Marigold), finite, inside ``crop`` and ``valid`` (dataset mask).

    Args:
        gt: (H, W) depth in metres, 0 = invalid.
        min_depth / max_depth: range bounds; ``None`` means 0 / infinity.
    """
    g = np.asarray(gt)
    mask = np.isfinite(g) & (g > (0.0 if min_depth is None else min_depth))
    if max_depth is not None and np.isfinite(max_depth):
        mask &= g < max_depth
    cm = crop_mask(g.shape[-2:], crop)
    if cm is not None:
        mask &= cm
    if valid is not None:
        mask &= np.asarray(valid, dtype=bool)
    return mask
