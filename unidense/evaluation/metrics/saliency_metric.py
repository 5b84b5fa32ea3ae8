"""Saliency metric: max F-measure over thresholds, as InvPT/ATRC compute it."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from unidense.registry import METRICS
from .sample_fields import (WarnOnce, as_sample_dict, check_same_hw, get_map,
                            sample_name)


@METRICS.register_module()
class SaliencyMetric(BaseMetric):
    """maxF of binary saliency, precision/recall pooled over the dataset.

    Reads ``pred_saliency['data']`` (1, H, W) foreground probability in
    [0, 1] and ``gt_saliency['data']`` (1, H, W) in [0, 1] (binarised at
    ``gt_threshold``; values equal to ``ignore_index``, e.g. 255, are
    skipped). For every threshold t in 0.05, 0.10, ..., 0.95, TP, predicted
    and actual positives are summed over the dataset; F_t =
    (1 + b2) P R / (b2 P + R) with b2 = 0.3, and ``maxF`` = 100 max_t F_t.
    An undefined precision or recall (0 / 0) counts as 0, never NaN.

    InvPT's meter applies a sigmoid to the probability before
    thresholding, so only sigmoid(p) >= t matters and the effective
    thresholds on p are {all, 0.2007, 0.4055, 0.6190, 0.8473}.
    ``invpt_sigmoid=True`` (default) reproduces that quirk so that
    published maxF numbers match; ``False`` thresholds the probability
    itself.

    Pixels where ``valid_field`` (``gt_saliency_valid``, e.g. padding
    added by the pipeline or data preprocessor) is False are skipped when
    the sample has that field.

    Returns ``maxF`` (%), ``best_threshold`` and ``num_images``. No
    samples, or ground truth that looks like 0/255 masks (no foreground in
    the whole dataset but ``ignore_index`` pixels) raise a ValueError
    instead of a silent maxF of 0.
    """

    default_prefix = 'sal'

    def __init__(self,
                 invpt_sigmoid: bool = True,
                 beta_squared: float = 0.3,
                 thresholds: Optional[Sequence[float]] = None,
                 gt_threshold: float = 0.5,
                 ignore_index: Optional[float] = 255,
                 pred_field: str = 'pred_saliency',
                 gt_field: str = 'gt_saliency',
                 valid_field: str = 'gt_saliency_valid',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        self.invpt_sigmoid = invpt_sigmoid
        self.beta_squared = beta_squared
        self.thresholds = np.asarray(
            thresholds if thresholds is not None else
            np.round(np.arange(1, 20) * 0.05, 2), dtype=np.float64)
        self.gt_threshold = gt_threshold
        self.ignore_index = ignore_index
        self.pred_field, self.gt_field = pred_field, gt_field
        self.valid_field = valid_field
        self._warn = WarnOnce('SaliencyMetric')

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            sample = as_sample_dict(sample)
            name = sample_name(sample)
            pred = get_map(sample, self.pred_field, metric='SaliencyMetric')
            gt = get_map(sample, self.gt_field, metric='SaliencyMetric')
            check_same_hw(pred, gt, self.pred_field, self.gt_field, sample,
                          'SaliencyMetric')
            pred = pred[0].astype(np.float64)
            gt = gt[0].astype(np.float64)
            valid = np.isfinite(gt) & np.isfinite(pred)
            if self.ignore_index is not None:
                valid &= gt != self.ignore_index
            mask = get_map(sample, self.valid_field, required=False,
                           metric='SaliencyMetric')
            if mask is not None:
                check_same_hw(mask, gt[None], self.valid_field,
                              self.gt_field, sample, 'SaliencyMetric')
                valid &= mask[0].astype(bool)
            if not np.isfinite(pred).all():
                self._warn('nonfinite_pred', f'NaN/inf saliency in {name} '
                           f'is left out')
            if valid.any() and (pred[valid].min() < 0
                                or pred[valid].max() > 1):
                self._warn('range', f'{self.pred_field} of {name} is outside '
                           f'[0, 1]; pass probabilities, not logits')
            self._check_gt_encoding(gt, valid, name)
            p = pred[valid]
            if self.invpt_sigmoid:
                # exp overflows to inf for p < -709: sigmoid -> 0, as meant
                with np.errstate(over='ignore'):
                    p = 1.0 / (1.0 + np.exp(-p))
            g = gt[valid] >= self.gt_threshold
            pos = p[None, :] >= self.thresholds[:, None]
            self.results.append(dict(
                tp=(pos & g[None]).sum(1).astype(np.int64),
                pred_pos=pos.sum(1).astype(np.int64),
                gt_pos=np.full(len(self.thresholds), int(g.sum()),
                               dtype=np.int64),
                ignored_255=int((gt == self.ignore_index).sum())
                if self.ignore_index is not None else 0))

    def _check_gt_encoding(self, gt: np.ndarray, valid: np.ndarray,
                           name: str) -> None:
        """Warn when ground truth looks like 0/255 masks: with the default
        ``ignore_index=255`` every foreground pixel would be skipped."""
        kept = gt[valid]
        if kept.size and kept.max() > 1:
            self._warn('gt_range', f'{self.gt_field} of {name} has values '
                       f'above 1 (max {kept.max():g}); saliency ground '
                       f'truth must be in [0, 1]')
        elif self.ignore_index is not None and not (kept > 0).any() and \
                (gt == self.ignore_index).any():
            self._warn('gt_255', f'{self.gt_field} of {name} has no '
                       f'foreground but pixels equal to ignore_index '
                       f'{self.ignore_index:g}: 0/255 masks? divide them by '
                       f'255 (or set ignore_index=None)')

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('SaliencyMetric: no samples were processed (an '
                             'empty dataset or dataloader?)')
        if all(int(r['gt_pos'][0]) == 0 for r in results) and \
                any(r.get('ignored_255', 0) for r in results):
            raise ValueError(
                f'SaliencyMetric: no foreground pixel in any of the '
                f'{len(results)} ground-truth maps, but pixels equal to '
                f'ignore_index {self.ignore_index:g}: the masks look like '
                f'0/255 images; divide them by 255 (LoadSaliency does) or '
                f'set ignore_index=None. maxF would silently be 0.')
        tp = np.sum([r['tp'] for r in results], axis=0).astype(np.float64)
        pp = np.sum([r['pred_pos'] for r in results], axis=0)
        ap = np.sum([r['gt_pos'] for r in results], axis=0)
        prec = np.divide(tp, pp, out=np.zeros_like(tp), where=pp > 0)
        rec = np.divide(tp, ap, out=np.zeros_like(tp), where=ap > 0)
        num = (1 + self.beta_squared) * prec * rec
        den = self.beta_squared * prec + rec
        f = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        best = int(np.argmax(f))
        out = dict(maxF=100.0 * float(f[best]),
                   best_threshold=float(self.thresholds[best]),
                   num_images=len(results))
        print_log('SaliencyMetric: ' + ', '.join(
            f'{k}={v:.4g}' for k, v in out.items()), logger='current')
        return out
