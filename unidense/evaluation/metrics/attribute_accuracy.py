"""Accuracy of predicted image attributes (the scene classifier's)."""
from typing import Dict, Sequence

from mmengine.evaluator import BaseMetric

from unidense.registry import METRICS


@METRICS.register_module()
class AttributeAccuracy(BaseMetric):
    """Per-attribute accuracy (%) of ``pred_attributes`` against
    ``gt_attributes`` (metainfo dicts attribute -> class name, or -> list of
    names for a multi-label attribute, which counts as right only when the
    whole set matches), and their mean (``mean``).

    A sample without either dict raises a KeyError naming it.
    """
    default_prefix = 'attr'

    def process(self, data_batch, data_samples: Sequence) -> None:
        for i, sample in enumerate(data_samples):
            meta = sample.get('metainfo', sample) if isinstance(
                sample, dict) else sample.metainfo
            pred, gt = meta.get('pred_attributes'), meta.get('gt_attributes')
            if pred is None or gt is None:
                raise KeyError(f'sample {i} lacks pred_attributes or '
                               'gt_attributes')
            self.results.append({
                name: float(_same(pred.get(name), value))
                for name, value in gt.items()})

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if not results:
            raise ValueError('AttributeAccuracy: no samples')
        names = list(results[0])
        out = {name: 100.0 * sum(r[name] for r in results) / len(results)
               for name in names}
        out['mean'] = sum(out.values()) / len(names)
        out['num_images'] = len(results)
        return out


def _same(pred, gt) -> bool:
    if isinstance(gt, (list, tuple, set)):
        return sorted(pred or []) == sorted(gt)
    return pred == gt
