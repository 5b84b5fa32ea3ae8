"""RandomCrop with mmseg's optional ``cat_max_ratio``."""
from typing import Sequence

import numpy as np

from unidense.registry import TRANSFORMS
from .base_transform import BaseTransform
from .map_fields import present_maps


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop image and maps to ``crop_size`` (h, w) at a random position.

    Images smaller than the crop are cropped to their own size (pad first
    with :class:`PadToMultiple` ``size=`` if a fixed size is required).

    Args:
        cat_max_ratio: if < 1, retry up to 10 times until no single class
            covers more than this fraction of ``gt_sem_seg`` (InvPT 0.75).
        ignore_index: label excluded from that count.
    """

    def __init__(self, crop_size: Sequence[int], cat_max_ratio: float = 1.0,
                 ignore_index: int = 255):
        if len(crop_size) != 2 or min(crop_size) < 1:
            raise ValueError(f'RandomCrop: bad crop_size {crop_size}')
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.cat_max_ratio = cat_max_ratio
        self.ignore_index = ignore_index

    def _bbox(self, h, w):
        ch, cw = min(self.crop_size[0], h), min(self.crop_size[1], w)
        top = np.random.randint(0, h - ch + 1)
        left = np.random.randint(0, w - cw + 1)
        return top, left, ch, cw

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        top, left, ch, cw = self._bbox(h, w)
        seg = results.get('gt_sem_seg')
        if self.cat_max_ratio < 1.0 and seg is not None and \
                seg.shape == (h, w):
            for _ in range(10):
                patch = seg[top:top + ch, left:left + cw]
                labels, counts = np.unique(patch, return_counts=True)
                counts = counts[labels != self.ignore_index]
                if len(counts) > 1 and \
                        counts.max() / counts.sum() < self.cat_max_ratio:
                    break
                top, left, ch, cw = self._bbox(h, w)
        for key in present_maps(results, (h, w)):
            results[key] = results[key][top:top + ch, left:left + cw].copy()
        results['img_shape'] = (ch, cw)
        results['crop_bbox'] = (top, left, ch, cw)
        return results
