"""Surface-normal metric: angular errors, pooled over the dataset."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from unidense.registry import METRICS
from ..functional import angle_histogram, angular_error_deg, histogram_median
from .sample_fields import (WarnOnce, as_sample_dict, check_same_hw, get_map,
                            sample_name)


@METRICS.register_module()
class NormalMetric(BaseMetric):
    """Angular error of predicted normals (Bae et al. / Marigold protocol).

    Reads ``pred_normal['data']`` (3, H, W) and ``gt_normal['data']``
    (3, H, W) unit vectors; ground-truth pixels that are zero vectors,
    non-finite, or outside ``gt_normal_valid`` are ignored, and so are
    non-finite predictions (with a warning). Predictions are normalised; a
    zero prediction scores 90 degrees.

    Per sample only sufficient statistics are stored: pixel count, sum and
    sum of squares of the error, counts under each threshold, and a sparse
    0.01-degree histogram, so that the pooled median is exact to 0.005
    degrees and merges across ranks.

    Args:
        thresholds: degrees for the "% within" entries.
        reduction: 'pooled' (all valid pixels of the dataset, the published
            protocol) or 'mean' (per-image values averaged, as iDisc).
        resize_pred: resize a prediction of another size bilinearly
            (align_corners=True, as Bae's evaluation) instead of refusing.

    Returns keys ``mean, median, rmse`` (degrees), ``a{t}`` (% of pixels
    under ``t`` degrees, e.g. ``a11.25``), ``num_images``, ``skipped``.
    """

    default_prefix = 'normal'

    def __init__(self,
                 thresholds: Sequence[float] = (11.25, 22.5, 30.0),
                 reduction: str = 'pooled',
                 pred_field: str = 'pred_normal',
                 gt_field: str = 'gt_normal',
                 valid_field: str = 'gt_normal_valid',
                 resize_pred: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        if reduction not in ('pooled', 'mean'):
            raise ValueError(f"NormalMetric: reduction must be 'pooled' or "
                             f"'mean', got {reduction!r}")
        self.thresholds = tuple(float(t) for t in thresholds)
        self.reduction = reduction
        self.pred_field, self.gt_field = pred_field, gt_field
        self.valid_field = valid_field
        self.resize_pred = resize_pred
        self._warn = WarnOnce('NormalMetric')

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            self.results.append(self._process_one(as_sample_dict(sample)))

    def _process_one(self, sample: dict) -> dict:
        name = sample_name(sample)
        pred = get_map(sample, self.pred_field, metric='NormalMetric')
        gt = get_map(sample, self.gt_field, metric='NormalMetric')
        for field, arr in ((self.pred_field, pred), (self.gt_field, gt)):
            if arr.shape[0] != 3:
                raise ValueError(f'NormalMetric: {field} of {name} must have '
                                 f'3 channels, got shape {arr.shape}')
        if pred.shape != gt.shape:
            if not self.resize_pred:
                check_same_hw(pred, gt, self.pred_field, self.gt_field,
                              sample, 'NormalMetric')
            self._warn('resized', f'resizing {self.pred_field} {pred.shape} '
                       f'to {gt.shape} ({name})')
            pred = F.interpolate(
                torch.from_numpy(pred.astype(np.float64))[None],
                size=gt.shape[-2:], mode='bilinear',
                align_corners=True)[0].numpy()
        valid = np.isfinite(gt).all(0) & (np.abs(gt).sum(0) > 0)
        bad_pred = ~np.isfinite(pred).all(0)
        if bad_pred.any():
            self._warn('nonfinite_pred', f'{int(bad_pred.sum())} NaN/inf '
                       f'predicted normals in {name} are left out')
        valid &= ~bad_pred
        vmask = get_map(sample, self.valid_field, required=False,
                        metric='NormalMetric')
        if vmask is not None:
            check_same_hw(vmask, gt, self.valid_field, self.gt_field, sample,
                          'NormalMetric')
            valid &= vmask[0].astype(bool)
        if not valid.any():
            self._warn('skipped', f'skipping {name}: no valid normal')
            return dict(img_path=name, skipped=True)
        err = angular_error_deg(pred[:, valid], gt[:, valid])
        bins, counts = angle_histogram(err)
        return dict(
            img_path=name, skipped=False, count=int(err.size),
            sum=float(err.sum()), sum_sq=float(np.square(err).sum()),
            below=[int((err < t).sum()) for t in self.thresholds],
            median=float(np.median(err)), bins=bins, counts=counts)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        kept = [r for r in results if not r['skipped']]
        out = dict(num_images=len(kept), skipped=len(results) - len(kept))
        if not kept:
            print_log('NormalMetric: no sample could be evaluated; only '
                      'counts are reported', logger='current', level=30)
            return out
        names = [f'a{t:g}' for t in self.thresholds]
        if self.reduction == 'pooled':
            n = sum(r['count'] for r in kept)
            bins = np.concatenate([r['bins'] for r in kept])
            counts = np.concatenate([r['counts'] for r in kept])
            out.update(
                mean=sum(r['sum'] for r in kept) / n,
                median=histogram_median(bins, counts),
                rmse=float(np.sqrt(sum(r['sum_sq'] for r in kept) / n)))
            for i, key in enumerate(names):
                out[key] = 100.0 * sum(r['below'][i] for r in kept) / n
        else:
            out.update(
                mean=float(np.mean([r['sum'] / r['count'] for r in kept])),
                median=float(np.mean([r['median'] for r in kept])),
                rmse=float(np.mean([np.sqrt(r['sum_sq'] / r['count'])
                                    for r in kept])))
            for i, key in enumerate(names):
                out[key] = float(np.mean(
                    [100.0 * r['below'][i] / r['count'] for r in kept]))
        print_log('NormalMetric: ' + ', '.join(
            f'{k}={v:.4g}' for k, v in out.items()), logger='current')
        return out
