"""Semantic segmentation / human parsing metric: mIoU, aAcc, mAcc."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from unidense.registry import METRICS
from unidense.structures.sample_fields import IGNORE_INDEX
from .sample_fields import as_sample_dict, check_same_hw, get_map, sample_name


@METRICS.register_module()
class IoUMetric(BaseMetric):
    """Intersection over union, accumulated over the whole dataset.

    Per class c, TP/FP/FN are counted over every non-ignored pixel of every
    image; IoU_c = TP / (TP + FP + FN) and Acc_c = TP / (TP + FN).
    ``mIoU`` and ``mAcc`` average over classes that occur in the ground
    truth or the prediction (a class absent from both has no IoU), ``aAcc``
    is the pixel accuracy. All in percent, as mmsegmentation and InvPT
    report them.

    Reads ``sample[pred_field]['data']`` and ``sample[gt_field]['data']``,
    (1, H, W) integer class ids; ``ignore_index`` in the ground truth is
    skipped. Set ``pred_field='pred_parsing', gt_field='gt_parsing'`` (and
    ``classes_key`` or ``class_names``) for human parsing.

    Args:
        ignore_index: ground-truth id that is not evaluated.
        class_names: names of classes 0..K-1; default
            ``dataset_meta[classes_key]``.
        num_classes: K when no names are known.
        classes_key: key of ``dataset_meta`` holding the class names.

    Per sample it stores four (K,) count vectors.
    """

    default_prefix = 'seg'

    def __init__(self,
                 ignore_index: int = IGNORE_INDEX,
                 class_names: Optional[Sequence[str]] = None,
                 num_classes: Optional[int] = None,
                 classes_key: str = 'classes',
                 pred_field: str = 'pred_sem_seg',
                 gt_field: str = 'gt_sem_seg',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        self.ignore_index = ignore_index
        self._class_names = list(class_names) if class_names else None
        self._num_classes = num_classes
        self.classes_key = classes_key
        self.pred_field, self.gt_field = pred_field, gt_field

    @property
    def class_names(self) -> List[str]:
        if self._class_names is not None:
            return self._class_names
        meta = self.dataset_meta or {}
        if meta.get(self.classes_key):
            return list(meta[self.classes_key])
        if self._num_classes is not None:
            return [str(i) for i in range(self._num_classes)]
        raise ValueError(
            f'IoUMetric: no class names; give class_names= or num_classes=, '
            f'or a dataset whose metainfo has {self.classes_key!r}')

    def process(self, data_batch, data_samples: Sequence) -> None:
        k = len(self.class_names)
        for sample in data_samples:
            sample = as_sample_dict(sample)
            name = sample_name(sample)
            pred = get_map(sample, self.pred_field, metric='IoUMetric')
            gt = get_map(sample, self.gt_field, metric='IoUMetric')
            check_same_hw(pred, gt, self.pred_field, self.gt_field, sample,
                          'IoUMetric')
            if pred.shape[0] != 1 or gt.shape[0] != 1:
                raise ValueError(f'IoUMetric: {name}: expected (1, H, W) '
                                 f'label maps, got {pred.shape} and '
                                 f'{gt.shape} (argmax the logits first)')
            pred, gt = pred[0], gt[0]
            if pred.dtype.kind == 'f':
                if not np.all(np.isfinite(pred)) or np.any(pred != np.round(
                        pred)):
                    raise ValueError(f'IoUMetric: {self.pred_field} of '
                                     f'{name} holds non-integer values')
            pred, gt = pred.astype(np.int64), gt.astype(np.int64)
            keep = gt != self.ignore_index
            bad_gt = keep & ((gt < 0) | (gt >= k))
            if bad_gt.any():
                raise ValueError(
                    f'IoUMetric: {self.gt_field} of {name} has ids '
                    f'{sorted(set(np.unique(gt[bad_gt]).tolist()))[:10]} '
                    f'outside 0..{k - 1} and != ignore_index '
                    f'{self.ignore_index}')
            bad_pred = keep & ((pred < 0) | (pred >= k))
            if bad_pred.any():
                raise ValueError(
                    f'IoUMetric: {self.pred_field} of {name} has ids '
                    f'{sorted(set(np.unique(pred[bad_pred]).tolist()))[:10]}'
                    f' outside 0..{k - 1}')
            p, g = pred[keep], gt[keep]
            inter = np.bincount(g[p == g], minlength=k)
            area_pred = np.bincount(p, minlength=k)
            area_gt = np.bincount(g, minlength=k)
            self.results.append(dict(
                intersect=inter, union=area_pred + area_gt - inter,
                area_pred=area_pred, area_gt=area_gt))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        inter = np.sum([r['intersect'] for r in results], axis=0)
        union = np.sum([r['union'] for r in results], axis=0)
        area_gt = np.sum([r['area_gt'] for r in results], axis=0)
        total = area_gt.sum()
        out = dict(num_images=len(results))
        if total == 0:
            print_log('IoUMetric: no labelled pixel in the whole set; only '
                      'counts are reported', logger='current', level=30)
            return out
        present = union > 0
        iou = np.where(present, inter / np.maximum(union, 1), np.nan)
        has_gt = area_gt > 0
        acc = np.where(has_gt, inter / np.maximum(area_gt, 1), np.nan)
        out.update(aAcc=100.0 * inter.sum() / total,
                   mIoU=100.0 * float(iou[present].mean()),
                   mAcc=100.0 * float(acc[has_gt].mean()))
        rows = [f'{"class":<16} {"IoU":>7} {"Acc":>7}']
        for name, i, a in zip(self.class_names, iou, acc):
            rows.append(f'{name:<16} {100 * i:7.2f} {100 * a:7.2f}')
        print_log('IoUMetric per class (nan = class absent):\n' +
                  '\n'.join(rows), logger='current')
        return out
