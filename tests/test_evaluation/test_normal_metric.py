"""NormalMetric: hand-computed pooled and per-image statistics."""
import math

import numpy as np
import pytest
import torch

from unidense.evaluation import NormalMetric


def _rot_x(deg):
    """Unit vectors tilted from +z by ``deg`` about the x axis, (3, N)."""
    r = np.radians(np.asarray(deg, dtype=np.float64))
    return np.stack([np.zeros_like(r), np.sin(r), np.cos(r)])


def _sample(pred, gt, valid=None, name='n.png'):
    s = dict(pred_normal=dict(data=torch.as_tensor(pred)[:, None]),
             gt_normal=dict(data=torch.as_tensor(gt)[:, None]),
             img_path=name)
    if valid is not None:
        s['gt_normal_valid'] = dict(data=torch.as_tensor(valid)[None, None])
    return s


def _run(metric, samples):
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_pooled_hand_computed():
    gt = _rot_x([0, 0, 0, 0])
    a = _sample(_rot_x([0, 10, 20, 40]), gt)
    res = _run(NormalMetric(), [a])
    assert res['mean'] == pytest.approx(17.5)
    assert res['median'] == pytest.approx(15.0, abs=0.01)
    assert res['rmse'] == pytest.approx(math.sqrt(525.0))
    assert res['a11.25'] == pytest.approx(50.0)
    assert res['a22.5'] == pytest.approx(75.0)
    assert res['a30'] == pytest.approx(75.0)
    # A second, smaller image: pooled over pixels vs averaged over images.
    b = _sample(_rot_x([60.0]), _rot_x([0.0]))
    pooled = _run(NormalMetric(), [a, b])
    assert pooled['mean'] == pytest.approx(130.0 / 5)
    assert pooled['median'] == pytest.approx(20.0, abs=0.01)
    mean = _run(NormalMetric(reduction='mean'), [a, b])
    assert mean['mean'] == pytest.approx((17.5 + 60.0) / 2)
    assert mean['median'] == pytest.approx((15.0 + 60.0) / 2)
    assert mean['a11.25'] == pytest.approx(25.0)


def test_invalid_pixels_and_bad_input():
    gt = _rot_x([0, 0, 0, 0])
    gt[:, 3] = 0.0  # zero vector = invalid ground truth
    pred = _rot_x([10, 20, 30, 0])
    pred[:, 1] = np.nan
    valid = np.array([True, True, False, True])
    res = _run(NormalMetric(thresholds=(5, 15)),
               [_sample(pred, gt, valid)])
    assert res['mean'] == pytest.approx(10.0) and res['a15'] == 100.0
    assert res['a5'] == 0.0 and res['num_images'] == 1
    # An all-invalid image is skipped and counted; no NaN anywhere.
    res = _run(NormalMetric(), [_sample(pred, np.zeros((3, 4)))])
    assert res == dict(num_images=0, skipped=1)
    # A zero prediction is 90 degrees off, not NaN.
    res = _run(NormalMetric(), [_sample(np.zeros((3, 1)), _rot_x([0]))])
    assert res['mean'] == pytest.approx(90.0)
    with pytest.raises(ValueError, match='3 channels'):
        NormalMetric().process({}, [dict(
            pred_normal=dict(data=torch.ones(1, 2, 2)),
            gt_normal=dict(data=torch.ones(3, 2, 2)), img_path='x.png')])
    with pytest.raises(ValueError, match=r'\(3, 2, 2\).*\(3, 4, 4\).*y\.png'):
        NormalMetric().process({}, [dict(
            pred_normal=dict(data=torch.ones(3, 2, 2)),
            gt_normal=dict(data=torch.ones(3, 4, 4)), img_path='y.png')])


def test_resize_pred_option():
    gt = torch.zeros(3, 4, 4)
    gt[2] = 1
    pred = torch.zeros(3, 2, 2)
    pred[2] = 1
    m = NormalMetric(resize_pred=True)
    m.process({}, [dict(pred_normal=dict(data=pred),
                        gt_normal=dict(data=gt), img_path='r.png')])
    res = m.compute_metrics(m.results)
    assert res['mean'] == pytest.approx(0.0, abs=1e-6)


def test_pooled_median_matches_exact_median_on_many_pixels():
    from unidense.evaluation.functional import angular_error_deg
    rng = np.random.default_rng(0)
    samples, errs = [], []
    for size in (40, 57):
        gt = rng.normal(size=(3, size, size))
        pred = gt + rng.normal(scale=0.4, size=gt.shape)
        samples.append(dict(pred_normal=dict(data=torch.from_numpy(pred)),
                            gt_normal=dict(data=torch.from_numpy(gt)),
                            img_path=f'{size}.png'))
        errs.append(angular_error_deg(pred, gt).ravel())
    errs = np.concatenate(errs)
    res = _run(NormalMetric(), samples)
    assert res['median'] == pytest.approx(np.median(errs), abs=0.006)
    assert res['mean'] == pytest.approx(errs.mean(), rel=1e-12)
    assert res['a11.25'] == pytest.approx(100 * np.mean(errs < 11.25))
