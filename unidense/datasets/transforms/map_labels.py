"""MapLabels: a new map from a label map through a lookup table."""
from typing import Sequence

import numpy as np

from unidense.registry import TRANSFORMS
from .base_transform import BaseTransform

_DTYPES = dict(long=np.int64, float=np.float32)


@TRANSFORMS.register_module()
class MapLabels(BaseTransform):
    """``results[dst] = lut[results[src]]``, ignored pixels kept ignored.

    Derives a task's ground truth from another's labels, e.g. on
    :class:`SyntheticScenes` (floor, wall, ceiling, box, sphere, cylinder)
    the tiny PASCAL-style tasks: object parts ``dict(dst='gt_parsing',
    lut=[0, 0, 0, 1, 2, 3])`` and saliency ``dict(dst='gt_saliency',
    lut=[0, 0, 0, 1, 1, 1], dtype='float')``.

    Args:
        dst (str): key to fill (a sample field, e.g. ``'gt_parsing'``).
        lut (Sequence): value for each source id 0..K-1.
        src (str): source label key (``'gt_sem_seg'``).
        dtype (str): ``'long'`` or ``'float'``.
        ignore_index (int): source ids equal to it (or >= K) become it
            (``'long'``) or 0 (``'float'``).
    """

    def __init__(self, dst: str, lut: Sequence, src: str = 'gt_sem_seg',
                 dtype: str = 'long', ignore_index: int = 255):
        if dtype not in _DTYPES:
            raise ValueError(f"MapLabels: dtype={dtype!r} must be 'long' or "
                             "'float'")
        self.dst, self.src = dst, src
        self.lut = np.asarray(list(lut), _DTYPES[dtype])
        self.dtype = dtype
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        if self.src not in results:
            raise KeyError(f'MapLabels: results has no {self.src}')
        label = np.asarray(results[self.src]).astype(np.int64)
        bad = (label < 0) | (label >= len(self.lut))
        fill = self.ignore_index if self.dtype == 'long' else 0
        out = self.lut[np.clip(label, 0, len(self.lut) - 1)]
        results[self.dst] = np.where(bad, fill, out).astype(self.lut.dtype)
        return results
