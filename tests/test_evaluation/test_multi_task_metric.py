"""MultiTaskMetric: children side by side and Delta_m by hand."""
import pytest
import torch

from unidense.registry import METRICS


def _sample():
    return dict(
        pred_sem_seg=dict(data=torch.tensor([[[0, 1, 1, 0]]])),
        gt_sem_seg=dict(data=torch.tensor([[[0, 0, 1, 255]]])),
        pred_depth=dict(data=torch.tensor([[[2.0, 2.0]]])),
        gt_depth=dict(data=torch.tensor([[[1.0, 3.0]]])),
        img_path='m.png')


def test_delta_m_hand_computed():
    metric = METRICS.build(dict(
        type='MultiTaskMetric',
        metrics=[dict(type='IoUMetric', class_names=['a', 'b']),
                 dict(type='DepthMetric', metrics=['rmse'],
                      reduction='pooled')],
        delta_tasks=[dict(key='seg/mIoU', baseline=40.0,
                          lower_is_better=False),
                     dict(key='depth/rmse', baseline=0.8,
                          lower_is_better=True)]))
    metric.process({}, [_sample(), _sample()])
    assert len(metric.results) == 2
    res = metric.evaluate(2)
    assert res['seg/mIoU'] == pytest.approx(50.0)
    assert res['depth/rmse'] == pytest.approx(1.0)
    # ((50 - 40) / 40 - (1.0 - 0.8) / 0.8) / 2 * 100 = (0.25 - 0.25) / 2
    assert res['delta_m'] == pytest.approx(0.0, abs=1e-12)
    metric.delta_tasks[1]['baseline'] = 1.25
    metric.process({}, [_sample()])
    res = metric.evaluate(1)
    assert res['delta_m'] == pytest.approx(100 * (0.25 + 0.2) / 2)


def test_configuration_errors():
    with pytest.raises(ValueError, match='prefixes must differ'):
        METRICS.build(dict(type='MultiTaskMetric', metrics=[
            dict(type='DepthMetric'), dict(type='DepthMetric')]))
    with pytest.raises(ValueError, match='baseline'):
        METRICS.build(dict(type='MultiTaskMetric',
                           metrics=[dict(type='DepthMetric')],
                           delta_tasks=[dict(key='depth/rmse', baseline=0,
                                             lower_is_better=True)]))
    m = METRICS.build(dict(type='MultiTaskMetric',
                           metrics=[dict(type='DepthMetric')],
                           delta_tasks=[dict(key='depth/nope', baseline=1,
                                             lower_is_better=True)]))
    m.process({}, [_sample()])
    with pytest.raises(KeyError, match='depth/nope'):
        m.compute_metrics(m.results)
