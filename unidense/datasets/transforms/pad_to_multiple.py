"""PadToMultiple / ResizeToMultiple: make H, W fit a latent grid.

A VAE needs multiples of 8, a DiT multiples of patch x 8 (16 for PixArt's
patch 2). Padding is recorded as ``padding`` (top, bottom, left, right) and
``pad_shape`` so that :func:`unidense.structures.restore_to_original` can
undo it.
"""
from typing import Optional, Sequence

import numpy as np

from unidense.registry import TRANSFORMS
from .base_transform import BaseTransform
from .map_fields import MAP_FIELDS, present_maps
from .resize import resize_maps


def pad_maps(results: dict, pad, keep_gt_at_ori: bool = False,
             pad_val: Optional[dict] = None) -> dict:
    """Pad ``img`` and the maps of its size by (top, bottom, left, right)."""
    top, bottom, left, right = (int(p) for p in pad)
    h, w = results['img'].shape[:2]
    keys = ['img'] if keep_gt_at_ori else present_maps(results, (h, w))
    if any(pad):
        for key in keys:
            arr = results[key]
            value = MAP_FIELDS[key][1]
            if pad_val and key in pad_val:
                value = pad_val[key]
            width = [(top, bottom), (left, right)] + [(0, 0)] * (arr.ndim - 2)
            results[key] = np.pad(arr, width, constant_values=value)
    old = results.get('padding', (0, 0, 0, 0))
    results['padding'] = (old[0] + top, old[1] + bottom, old[2] + left,
                          old[3] + right)
    results['pad_shape'] = results['img'].shape[:2]
    return results


@TRANSFORMS.register_module()
class PadToMultiple(BaseTransform):
    """Pad so that H and W are multiples of ``size_divisor`` (or to ``size``).

    Args:
        size_divisor: e.g. 8 (VAE) or 16 (PixArt DiT, patch 2 x 8).
        size: fixed (h, w) to pad to instead (NYUD-MT 448x576); must not be
            smaller than the image.
        mode: 'bottom_right' (mmseg, InvPT) or 'center'.
        keep_gt_at_ori: pad only the image (test pipelines).
        pad_val: per-key override of the pad values (img 0, depth 0,
            masks False, labels 255, normals 0).
    """

    def __init__(self, size_divisor: Optional[int] = 8,
                 size: Optional[Sequence[int]] = None,
                 mode: str = 'bottom_right', keep_gt_at_ori: bool = False,
                 pad_val: Optional[dict] = None):
        if (size_divisor is None) == (size is None):
            raise ValueError('PadToMultiple: give size_divisor or size')
        if mode not in ('bottom_right', 'center'):
            raise ValueError(f'PadToMultiple: unknown mode {mode!r}')
        self.size_divisor = size_divisor
        self.size = tuple(size) if size is not None else None
        self.mode = mode
        self.keep_gt_at_ori = keep_gt_at_ori
        self.pad_val = pad_val

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        if self.size is not None:
            th, tw = self.size
            if th < h or tw < w:
                raise ValueError(f'PadToMultiple: image {(h, w)} is larger '
                                 f'than size {self.size} '
                                 f'({results.get("img_path")})')
        else:
            d = self.size_divisor
            th, tw = -(-h // d) * d, -(-w // d) * d
        dh, dw = th - h, tw - w
        if self.mode == 'center':
            pad = (dh // 2, dh - dh // 2, dw // 2, dw - dw // 2)
        else:
            pad = (0, dh, 0, dw)
        return pad_maps(results, pad, self.keep_gt_at_ori, self.pad_val)


@TRANSFORMS.register_module()
class ResizeToMultiple(BaseTransform):
    """Resize (slightly changing the aspect) so H, W are multiples of
    ``size_divisor``; rounds to the nearest multiple (at least one).

    No padding is added, so nothing but ``scale_factor`` needs undoing.
    """

    def __init__(self, size_divisor: int = 8, keep_gt_at_ori: bool = False,
                 interpolation: str = 'bilinear'):
        self.size_divisor = int(size_divisor)
        self.keep_gt_at_ori = keep_gt_at_ori
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        d = self.size_divisor
        h, w = results['img'].shape[:2]
        new_hw = (max(d, int(round(h / d)) * d), max(d, int(round(w / d)) * d))
        return resize_maps(results, new_hw, self.keep_gt_at_ori,
                           self.interpolation)
