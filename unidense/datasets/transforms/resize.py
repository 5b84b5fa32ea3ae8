"""Resize and RandomResize: image bilinear, dense ground truth nearest."""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from unidense.registry import TRANSFORMS
from .base_transform import BaseTransform
from .map_fields import MAP_FIELDS, present_maps, renormalize_normals

_INTERP = dict(nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR,
               bicubic=cv2.INTER_CUBIC, area=cv2.INTER_AREA)


def resize_maps(results: dict, new_hw: Tuple[int, int],
                keep_gt_at_ori: bool = False,
                interpolation: str = 'bilinear',
                scale_depth: bool = False) -> dict:
    """Resize ``img`` and (unless ``keep_gt_at_ori``) every map of its size.

    Records ``img_shape`` and ``scale_factor`` (w_scale, h_scale), composed
    with any earlier resize. ``scale_depth`` divides metric depth by the
    mean scale (InvPT's random scaling: a zoomed-in object looks closer).
    """
    img = results['img']
    h, w = img.shape[:2]
    new_h, new_w = int(new_hw[0]), int(new_hw[1])
    if new_h < 1 or new_w < 1:
        raise ValueError(f'Resize: target size {new_hw} from {(h, w)} is '
                         f'empty ({results.get("img_path")})')
    keys = ['img'] if keep_gt_at_ori else present_maps(results, (h, w))
    for key in keys:
        kind = MAP_FIELDS[key][0]
        arr = results[key]
        if (new_h, new_w) == (h, w):
            continue
        if kind == 'image':
            results[key] = cv2.resize(arr, (new_w, new_h),
                                      interpolation=_INTERP[interpolation])
            continue
        src = arr.astype(np.uint8) if arr.dtype == bool else arr
        if src.dtype == np.int64:
            src = src.astype(np.int32)
        out = cv2.resize(src, (new_w, new_h), interpolation=cv2.INTER_NEAREST)
        if arr.dtype == bool:
            out = out.astype(bool)
        elif arr.dtype == np.int64:
            out = out.astype(np.int64)
        if kind == 'normal':
            out = renormalize_normals(out)
        results[key] = out
    ws, hs = new_w / w, new_h / h
    if scale_depth and not keep_gt_at_ori and 'gt_depth' in results:
        results['gt_depth'] = (results['gt_depth'] /
                               np.float32((ws + hs) / 2)).astype(np.float32)
    old = results.get('scale_factor', (1.0, 1.0))
    results['scale_factor'] = (float(old[0]) * ws, float(old[1]) * hs)
    results['img_shape'] = (new_h, new_w)
    return results


def rescale_size(hw: Tuple[int, int], scale, keep_ratio: bool):
    """mmseg semantics: ``scale`` is (w, h); with ``keep_ratio`` the image is
    scaled as large as possible with long edge <= max(scale) and short edge
    <= min(scale)."""
    h, w = hw
    if not keep_ratio:
        return int(scale[1]), int(scale[0])
    long_edge, short_edge = max(scale), min(scale)
    factor = min(long_edge / max(h, w), short_edge / min(h, w))
    return int(h * factor + 0.5), int(w * factor + 0.5)


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize the image and the ground truth maps of its size.

    Exactly one of ``scale`` ((w, h)), ``scale_factor`` (float) or
    ``max_side`` (Marigold's ``processing_res``: longer edge -> max_side,
    aspect kept) is given.

    Args:
        keep_ratio: see ``scale``.
        keep_gt_at_ori: resize only ``img`` (test pipelines; metrics use GT
            at ``ori_shape`` and models restore predictions to it).
        interpolation: for the image ('bilinear', 'nearest', 'bicubic',
            'area'); maps always use nearest (normals renormalised).
        scale_depth: divide metric depth by the scale (InvPT augmentation).
    """

    def __init__(self, scale: Optional[Sequence[int]] = None,
                 scale_factor: Optional[float] = None,
                 max_side: Optional[int] = None,
                 keep_ratio: bool = True, keep_gt_at_ori: bool = False,
                 interpolation: str = 'bilinear', scale_depth: bool = False):
        given = [x is not None for x in (scale, scale_factor, max_side)]
        if sum(given) != 1:
            raise ValueError('Resize: give exactly one of scale, '
                             'scale_factor, max_side')
        if interpolation not in _INTERP:
            raise ValueError(f'Resize: interpolation must be one of '
                             f'{sorted(_INTERP)}, got {interpolation!r}')
        self.scale = tuple(scale) if scale is not None else None
        self.scale_factor = scale_factor
        self.max_side = max_side
        self.keep_ratio = keep_ratio
        self.keep_gt_at_ori = keep_gt_at_ori
        self.interpolation = interpolation
        self.scale_depth = scale_depth

    def target_size(self, hw):
        h, w = hw
        if self.scale is not None:
            return rescale_size(hw, self.scale, self.keep_ratio)
        if self.scale_factor is not None:
            return (max(1, int(h * self.scale_factor + 0.5)),
                    max(1, int(w * self.scale_factor + 0.5)))
        if self.max_side <= 0:
            return h, w
        f = self.max_side / max(h, w)
        return max(1, int(round(h * f))), max(1, int(round(w * f)))

    def transform(self, results: dict) -> dict:
        new_hw = self.target_size(results['img'].shape[:2])
        return resize_maps(results, new_hw, self.keep_gt_at_ori,
                           self.interpolation, self.scale_depth)


@TRANSFORMS.register_module()
class RandomResize(BaseTransform):
    """Resize by a random factor (InvPT/mmseg multi-scale training).

    Args:
        scale: base (w, h); the factor ``ratio_range`` is drawn uniformly
            and applied to it (then ``keep_ratio`` as in :class:`Resize`).
            ``None`` applies the factor to the current image size.
        ratio_range: (min, max), e.g. (0.5, 2.0).
        scale_depth: divide metric depth by the factor.
    """

    def __init__(self, scale: Optional[Sequence[int]] = None,
                 ratio_range: Sequence[float] = (0.5, 2.0),
                 keep_ratio: bool = True, scale_depth: bool = False,
                 interpolation: str = 'bilinear'):
        lo, hi = ratio_range
        if not 0 < lo <= hi:
            raise ValueError(f'RandomResize: bad ratio_range {ratio_range}')
        self.scale = tuple(scale) if scale is not None else None
        self.ratio_range = (float(lo), float(hi))
        self.keep_ratio = keep_ratio
        self.scale_depth = scale_depth
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        ratio = np.random.uniform(*self.ratio_range)
        hw = results['img'].shape[:2]
        if self.scale is None:
            new_hw = (max(1, int(hw[0] * ratio + 0.5)),
                      max(1, int(hw[1] * ratio + 0.5)))
        else:
            scale = (self.scale[0] * ratio, self.scale[1] * ratio)
            new_hw = rescale_size(hw, scale, self.keep_ratio)
        return resize_maps(results, new_hw, False, self.interpolation,
                           self.scale_depth)
