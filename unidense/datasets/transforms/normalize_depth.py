"""NormalizeDepth: affine-invariant target in [-1, 1] (Marigold/MERGE)."""
import numpy as np

from unidense.registry import TRANSFORMS
from .base_transform import BaseTransform
from .loading import warn_once


@TRANSFORMS.register_module()
class NormalizeDepth(BaseTransform):
    """Map the ``min_quantile``/``max_quantile`` of valid depth to -1/+1.

    Writes ``gt_depth_norm`` (H, W) float32 in [-1, 1] (clipped). Pixels
    that are not in ``gt_depth_valid`` get ``invalid_value`` (+1, the far
    plane, as Marigold fills its target) and stay marked invalid - losses
    must mask them. Records ``depth_norm_range`` = (d_lo, d_hi) metres.

    Bad input never produces NaN:

    - no valid pixel (or fewer than ``min_valid``): warn once per file,
      fill with ``invalid_value``, set ``valid_sample=False``; with
      ``drop_invalid=True`` return ``None`` instead so the dataset draws
      another sample;
    - constant depth (d_lo == d_hi): valid pixels map to 0.
    """

    def __init__(self, min_quantile: float = 0.02, max_quantile: float = 0.98,
                 clip: bool = True, invalid_value: float = 1.0,
                 min_valid: int = 1, drop_invalid: bool = False):
        if not 0 <= min_quantile < max_quantile <= 1:
            raise ValueError(f'NormalizeDepth: need 0 <= min_quantile < '
                             f'max_quantile <= 1, got {min_quantile}, '
                             f'{max_quantile}')
        self.min_quantile = min_quantile
        self.max_quantile = max_quantile
        self.clip = clip
        self.invalid_value = invalid_value
        self.min_valid = max(1, int(min_valid))
        self.drop_invalid = drop_invalid

    def transform(self, results: dict):
        if 'gt_depth' not in results:
            raise KeyError('NormalizeDepth: no gt_depth (run LoadDepth)')
        depth = results['gt_depth']
        valid = results.get('gt_depth_valid')
        if valid is None:
            valid = np.isfinite(depth) & (depth > 0)
        valid = valid & np.isfinite(depth) & (depth > 0)
        results['gt_depth_valid'] = valid
        out = np.full(depth.shape, self.invalid_value, np.float32)
        if valid.sum() < self.min_valid:
            where = results.get('depth_path') or results.get('img_path') \
                or f'sample {results.get("sample_idx", "?")}'
            warn_once(f'NormalizeDepth: {int(valid.sum())} valid depth '
                      f'pixels in {where}; sample marked invalid')
            if self.drop_invalid:
                return None
            results['gt_depth_norm'] = out
            results['valid_sample'] = False
            return results
        d = depth[valid].astype(np.float64)
        lo, hi = np.quantile(d, [self.min_quantile, self.max_quantile])
        if hi - lo > 1e-8 * max(1.0, abs(hi)):
            norm = (d - lo) / (hi - lo) * 2.0 - 1.0
        else:
            norm = np.zeros_like(d)
        if self.clip:
            norm = np.clip(norm, -1.0, 1.0)
        out[valid] = norm
        results['gt_depth_norm'] = out
        results['depth_norm_range'] = (float(lo), float(hi))
        results.setdefault('valid_sample', True)
        return results
