"""Several task metrics in one, plus the multi-task gain Delta_m."""
from typing import Dict, List, Optional, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from unidense.registry import METRICS


@METRICS.register_module()
class MultiTaskMetric(BaseMetric):
    """Run task metrics side by side and report Delta_m.

    Delta_m (%) = 100 / T * sum_i (-1)^{l_i} (M_i - M_b,i) / M_b,i, where
    M_b,i is the single-task baseline of task measure i and l_i = 1 when
    lower is better (Maninis et al. 2019; InvPT, TaskPrompter). Positive
    Delta_m means the multi-task model beats its single-task baselines.

    Each child metric must store exactly one record per sample (every
    unidense metric does); the wrapper keeps one tuple per sample so that
    mmengine's distributed collection and truncation stay exact.

    Args:
        metrics: config dicts (or built metrics) of the task metrics. Each
            child's keys are reported as ``'<child prefix>/<key>'`` (the
            child's ``prefix`` or ``default_prefix``); prefixes must differ.
        delta_tasks: ``[dict(key='depth/rmse', baseline=0.5,
            lower_is_better=True), ...]``; keys name child outputs. Empty
            means no ``delta_m``.

    Example::

        dict(type='MultiTaskMetric',
             metrics=[dict(type='IoUMetric', num_classes=40),
                      dict(type='DepthMetric', reduction='pooled',
                           metrics=['rmse'])],
             delta_tasks=[dict(key='seg/mIoU', baseline=47.0,
                               lower_is_better=False),
                          dict(key='depth/rmse', baseline=0.55,
                               lower_is_better=True)])
    """

    default_prefix = None

    def __init__(self,
                 metrics: Sequence,
                 delta_tasks: Optional[Sequence[dict]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        if not metrics:
            raise ValueError('MultiTaskMetric: metrics is empty')
        self.children = [m if isinstance(m, BaseMetric) else METRICS.build(m)
                         for m in metrics]
        self.child_prefixes = [c.prefix or c.default_prefix or
                               type(c).__name__ for c in self.children]
        if len(set(self.child_prefixes)) != len(self.child_prefixes):
            raise ValueError(f'MultiTaskMetric: child prefixes must differ, '
                             f'got {self.child_prefixes}; set prefix= on '
                             f'the children')
        self.delta_tasks = []
        for task in delta_tasks or []:
            missing = {'key', 'baseline', 'lower_is_better'} - set(task)
            if missing:
                raise ValueError(f'MultiTaskMetric: delta task {task} lacks '
                                 f'{sorted(missing)}')
            if float(task['baseline']) == 0:
                raise ValueError(f'MultiTaskMetric: baseline of '
                                 f'{task["key"]!r} is 0; Delta_m divides '
                                 f'by it')
            self.delta_tasks.append(dict(task))

    @BaseMetric.dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        self._dataset_meta = dataset_meta
        for child in self.children:
            child.dataset_meta = dataset_meta

    def process(self, data_batch, data_samples: Sequence) -> None:
        per_child = []
        for child, name in zip(self.children, self.child_prefixes):
            child.results = []
            child.process(data_batch, data_samples)
            if len(child.results) != len(data_samples):
                raise RuntimeError(
                    f'MultiTaskMetric: child {name!r} stored '
                    f'{len(child.results)} records for {len(data_samples)} '
                    f'samples; it must store one per sample')
            per_child.append(child.results)
            child.results = []
        self.results.extend(zip(*per_child))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        out = {}
        for i, (child, name) in enumerate(zip(self.children,
                                              self.child_prefixes)):
            values = child.compute_metrics([r[i] for r in results])
            out.update({f'{name}/{k}': v for k, v in values.items()})
        if self.delta_tasks:
            terms = []
            for task in self.delta_tasks:
                if task['key'] not in out:
                    raise KeyError(f'MultiTaskMetric: delta task key '
                                   f'{task["key"]!r} not among the results '
                                   f'{sorted(out)}')
                base = float(task['baseline'])
                sign = -1.0 if task['lower_is_better'] else 1.0
                terms.append(sign * (float(out[task['key']]) - base) / base)
            out['delta_m'] = 100.0 * sum(terms) / len(terms)
            print_log(f'MultiTaskMetric: delta_m = {out["delta_m"]:.3f} %',
                      logger='current')
        return out
