"""SaliencyMetric: InvPT's sigmoid quirk versus plain thresholds."""
import pytest
import torch

from unidense.evaluation import SaliencyMetric


def _sample(pred, gt):
    return dict(pred_saliency=dict(data=torch.tensor([pred])),
                gt_saliency=dict(data=torch.tensor([gt])), img_path='s.png')


def _run(metric, samples):
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_hand_computed_quirk_and_correct():
    s = _sample([[0.1, 0.3, 0.6, 0.9]], [[1.0, 0.0, 1.0, 1.0]])
    # F at the best threshold: P = 1, R = 2/3 -> 1.3 * 2/3 / (0.3 + 2/3).
    best_f = 100 * 1.3 * (2 / 3) / (0.3 + 2 / 3)
    quirk = _run(SaliencyMetric(), [s])
    # sigmoid(0.3) = 0.574 < 0.6 <= sigmoid(0.6) = 0.646
    assert quirk['maxF'] == pytest.approx(best_f)
    assert quirk['best_threshold'] == pytest.approx(0.6)
    plain = _run(SaliencyMetric(invpt_sigmoid=False), [s])
    assert plain['maxF'] == pytest.approx(best_f)
    assert plain['best_threshold'] == pytest.approx(0.35)
    # Pooled over the dataset: a second image changes the counts.
    t = _sample([[0.95, 0.95]], [[0.0, 0.0]])
    pooled = _run(SaliencyMetric(invpt_sigmoid=False), [s, t])
    # best at 0.35..0.6 becomes TP 2, PP 4 -> P .5, R 2/3; at 0.05..0.1
    # TP 3, PP 6; compare with hand values
    f = lambda p, r: 1.3 * p * r / (0.3 * p + r)  # noqa: E731
    expect = max(f(3 / 6, 1), f(2 / 5, 2 / 3), f(2 / 4, 2 / 3),
                 f(1 / 3, 1 / 3))
    assert pooled['maxF'] == pytest.approx(100 * expect)


def test_ignore_and_no_nan():
    res = _run(SaliencyMetric(), [_sample([[0.9, 0.2]], [[0.0, 0.0]])])
    # no positive ground truth anywhere: recall undefined -> F = 0, no NaN
    assert res['maxF'] == 0.0
    # ignored pixels are left out of the counts
    res = _run(SaliencyMetric(), [_sample([[0.9, 0.9, 0.2]],
                                          [[1.0, 255.0, 0.0]])])
    assert res['maxF'] == pytest.approx(100.0)
    with pytest.raises(ValueError, match='shape'):
        _run(SaliencyMetric(), [dict(
            pred_saliency=dict(data=torch.zeros(1, 2, 2)),
            gt_saliency=dict(data=torch.zeros(1, 3, 3)), img_path='x.png')])


def test_empty_and_0_255_ground_truth_are_clear_errors():
    with pytest.raises(ValueError, match='no samples were processed'):
        SaliencyMetric().compute_metrics([])
    # masks saved as 0/255: every foreground pixel equals ignore_index 255
    metric = SaliencyMetric()
    metric.process({}, [_sample([[0.9, 0.2]], [[255.0, 0.0]])])
    assert metric._warn.counts == {'gt_255': 1}      # logged per sample
    with pytest.raises(ValueError, match='look like 0/255 images'):
        metric.compute_metrics(metric.results)
    # values above 1 that are not ignored are logged too
    metric = SaliencyMetric(ignore_index=None)
    metric.process({}, [_sample([[0.9, 0.2]], [[128.0, 0.0]])])
    assert metric._warn.counts == {'gt_range': 1}
