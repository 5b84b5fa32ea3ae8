"""Hand-computed checks of the alignment and error functions."""
import math

import numpy as np
import pytest
import torch

from unidense.evaluation.functional import (
    align_depth_least_squares, align_depth_least_squares_disparity,
    align_depth_median_scale, align_depth_repeated_median, angle_histogram,
    angular_error_deg, crop_mask, depth_error_sums, depth_errors,
    depth_errors_from_sums, depth_eval_mask, histogram_median)


def _scene(h=24, w=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 8.0, size=(h, w))


def test_least_squares_recovers_scale_and_shift():
    gt = _scene()
    pred = (gt - 0.7) / 3.0
    aligned, s, t = align_depth_least_squares(pred, gt, gt > 0)
    assert s == pytest.approx(3.0, abs=1e-12)
    assert t == pytest.approx(0.7, abs=1e-12)
    np.testing.assert_allclose(aligned, gt, rtol=0, atol=1e-12)


def test_least_squares_matches_lstsq_on_noisy_data_and_keeps_tensor_type():
    gt = _scene(seed=1)
    rng = np.random.default_rng(2)
    pred = gt * 0.4 + rng.normal(0, 0.3, gt.shape)
    mask = rng.random(gt.shape) > 0.3
    _, s, t = align_depth_least_squares(torch.from_numpy(pred), gt, mask)
    a = np.stack([pred[mask], np.ones(mask.sum())], 1)
    ref = np.linalg.lstsq(a, gt[mask], rcond=None)[0]
    assert (s, t) == pytest.approx(tuple(ref), rel=1e-9)
    aligned, _, _ = align_depth_least_squares(
        torch.from_numpy(pred).float()[None], torch.from_numpy(gt)[None])
    assert aligned.dtype == torch.float32 and aligned.shape == (1, 24, 32)


def test_least_squares_max_resolution_fits_on_downsampled_copy():
    gt = _scene(h=60, w=80)
    pred = (gt - 0.2) / 2.0
    # Corrupt one pixel that the 8-pixel grid never samples: the fit on the
    # downsampled copy ignores it, the full-resolution fit does not.
    pred[1, 1] = 100.0
    _, s_small, t_small = align_depth_least_squares(pred, gt,
                                                    max_resolution=8)
    _, s_full, _ = align_depth_least_squares(pred, gt)
    assert (s_small, t_small) == pytest.approx((2.0, 0.2), abs=1e-9)
    assert abs(s_full - 2.0) > 1e-3


def test_disparity_alignment_recovers_depth():
    gt = _scene()
    pred = (1.0 / gt - 0.05) / 0.5
    aligned, s, t = align_depth_least_squares_disparity(pred, gt, gt > 0)
    assert (s, t) == pytest.approx((0.5, 0.05), abs=1e-10)
    np.testing.assert_allclose(aligned, gt, rtol=1e-10)


def test_median_scale():
    gt = _scene()
    aligned, s, t = align_depth_median_scale(gt / 4.0, gt)
    assert s == pytest.approx(4.0) and t == 0.0
    np.testing.assert_allclose(aligned, gt, rtol=1e-12)


def test_repeated_median_is_exact_on_clean_data_and_seeded():
    gt = _scene(h=40, w=40)
    pred = (1.0 / gt - 0.02) / 0.3
    aligned, s, t = align_depth_repeated_median(pred, gt, num_fits=7,
                                                num_samples=50)
    assert (s, t) == pytest.approx((0.3, 0.02), abs=1e-9)
    np.testing.assert_allclose(aligned, gt, rtol=1e-8)
    # Outliers: the median over fits is reproducible for a fixed seed and
    # changes with another seed.
    noisy = pred.copy()
    noisy[::7, ::5] *= 3
    r1 = align_depth_repeated_median(noisy, gt, num_samples=30, seed=1)[1:]
    r2 = align_depth_repeated_median(noisy, gt, num_samples=30, seed=1)[1:]
    r3 = align_depth_repeated_median(noisy, gt, num_samples=30, seed=2)[1:]
    assert r1 == r2 and r1 != r3


def test_alignment_refuses_without_pixels_and_bad_shapes():
    gt = _scene()
    with pytest.raises(ValueError, match='valid pixel'):
        align_depth_least_squares(gt, gt, np.zeros_like(gt, dtype=bool))
    with pytest.raises(ValueError, match='shape'):
        align_depth_least_squares(gt[:, :5], gt)
    # NaN in the prediction is left out of the fit, not propagated.
    pred = gt.copy()
    pred[0, 0] = np.nan
    _, s, t = align_depth_least_squares(pred, gt)
    assert (s, t) == pytest.approx((1.0, 0.0), abs=1e-12)


def test_depth_errors_hand_computed():
    pred = np.array([[1.0, 2.0, 4.0]])
    gt = np.array([[1.0, 1.0, 2.0]])
    ln2 = math.log(2)
    e = depth_errors(pred, gt, silog_lambda=1.0, silog_scale=100.0)
    assert e['abs_rel'] == pytest.approx(2 / 3)
    assert e['sq_rel'] == pytest.approx(1.0)
    assert e['rmse'] == pytest.approx(math.sqrt(5 / 3))
    assert e['rmse_log'] == pytest.approx(math.sqrt(2 * ln2**2 / 3))
    assert e['log10'] == pytest.approx(2 * math.log10(2) / 3)
    assert e['delta1'] == e['delta2'] == e['delta3'] == pytest.approx(1 / 3)
    assert e['silog'] == pytest.approx(100 * ln2 * math.sqrt(2) / 3)
    assert e['i_rmse'] == pytest.approx(math.sqrt((0.25 + 0.0625) / 3))
    # mmseg variant: lambda 0.5, unscaled.
    e2 = depth_errors(pred, gt, metrics=['silog'], silog_lambda=0.5)
    assert e2 == {'silog': pytest.approx(
        math.sqrt(2 * ln2**2 / 3 - 0.5 * (2 * ln2 / 3)**2))}


def test_depth_error_sums_pool_and_mask():
    pred = np.array([[1.0, 2.0, 4.0, np.nan, 5.0]])
    gt = np.array([[1.0, 1.0, 2.0, 3.0, 0.0]])
    sums = depth_error_sums(pred, gt)  # NaN and gt = 0 are left out
    assert sums['count'] == 3
    masked = depth_error_sums(pred, gt, np.array([[1, 0, 1, 1, 1]], bool))
    assert masked['count'] == 2
    assert depth_errors_from_sums(masked)['abs_rel'] == pytest.approx(0.5)
    with pytest.raises(ValueError, match='no valid pixel'):
        depth_errors(pred, np.zeros_like(gt))
    with pytest.raises(ValueError, match='unknown depth metric'):
        depth_errors(pred, gt, metrics=['d1'])


def test_crops_and_eval_mask():
    m = crop_mask((480, 640), 'eigen_nyu')
    assert m.sum() == (471 - 45) * (601 - 41) and m[45, 41] and not m[44, 41]
    k = crop_mask((352, 1216), 'garg_kitti')
    rows = np.flatnonzero(k.any(1))
    assert rows[0] == int(0.40810811 * 352) and rows[-1] == int(
        0.99189189 * 352) - 1
    with pytest.raises(ValueError, match='480, 640'):
        crop_mask((240, 320), 'eigen_nyu')
    gt = np.array([[0.0, 0.5, 1.0, 10.0, np.inf]])
    np.testing.assert_array_equal(
        depth_eval_mask(gt, 0.5, 10.0), [[False, False, True, False, False]])


def test_angular_error_and_histogram_median():
    gt = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])  # (3, 2)
    pred = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(angular_error_deg(pred, gt), [90.0, 45.0],
                               atol=1e-12)
    # atan2 keeps precision for tiny angles where arccos(cos) is 0.
    tiny = np.array([[1e-9], [0.0], [1.0]])
    assert angular_error_deg(tiny, gt[:, :1])[0] == pytest.approx(
        np.degrees(1e-9), rel=1e-6)
    errs = np.array([1.0, 2.0, 3.0, 40.0])
    bins, counts = angle_histogram(errs)
    assert histogram_median(bins, counts) == pytest.approx(2.5, abs=0.01)
    assert histogram_median(*angle_histogram(errs[:3])) == pytest.approx(
        2.0, abs=0.01)


def test_downsample_grid_matches_torch_nearest():
    from unidense.evaluation.functional import downsample_for_alignment
    x = np.random.default_rng(0).random((63, 95))
    f = 40 / 95
    both = torch.nn.Upsample(scale_factor=f, mode='nearest')(
        torch.from_numpy(x)[None, None])[0, 0].numpy()
    np.testing.assert_array_equal(downsample_for_alignment([x], 40)[0], both)
    # Marigold's code hands a (1, H, W) tensor to nn.Upsample, which then
    # resamples the last axis only; 'width' reproduces that grid.
    width = torch.nn.Upsample(scale_factor=f, mode='nearest')(
        torch.from_numpy(x)[None])[0].numpy()
    np.testing.assert_array_equal(
        downsample_for_alignment([x], 40, axes='width')[0], width)
    assert width.shape == (63, 40)
    with pytest.raises(ValueError, match='axes'):
        downsample_for_alignment([x], 40, axes='height')


def test_eth3d_preset_fits_on_marigold_grid():
    from unidense.evaluation import DepthMetric
    rng = np.random.default_rng(3)
    gt = rng.uniform(1, 20, (40, 60))
    pred = gt * 0.1 + rng.normal(0, 0.2, gt.shape)
    # 1024 px is above this size: keep the preset, shrink the resolution.
    m = DepthMetric(preset='marigold_eth3d', alignment_max_res=16)
    m.process({}, [dict(pred_depth=dict(data=torch.from_numpy(pred)[None]),
                        gt_depth=dict(data=torch.from_numpy(gt)[None]),
                        img_path='e.png')])
    cols = np.floor(np.arange(int(60 * 16 / 60)) / (16 / 60)).astype(int)
    p, g = pred[:, cols].ravel(), gt[:, cols].ravel()
    ref = np.linalg.lstsq(np.stack([p, np.ones_like(p)], 1), g,
                          rcond=None)[0]
    assert m.results[0]['scale'] == pytest.approx(ref[0], rel=1e-9)
    assert m.results[0]['shift'] == pytest.approx(ref[1], rel=1e-9)


@pytest.mark.parametrize('magnitude', [1e-200, 1e-150, 1.0, 1e150, 1e200])
def test_least_squares_alignment_at_any_prediction_scale(magnitude):
    """Predictions scaled far beyond float64's square range (1e+-154) are
    still fitted, not taken for constants (or overflowed)."""
    from unidense.evaluation.functional.depth_alignment import \
        align_depth_least_squares
    rng = np.random.default_rng(0)
    gt = rng.uniform(1, 10, (12, 16))
    pred = (0.5 * gt - 0.2) * magnitude
    aligned, scale, shift = align_depth_least_squares(pred, gt)
    np.testing.assert_allclose(aligned, gt, rtol=1e-9)
    assert scale == pytest.approx(2.0 / magnitude, rel=1e-9)
    # a constant map stays a constant fit
    _, scale, shift = align_depth_least_squares(
        np.full_like(gt, 0.1 * magnitude), gt)
    assert scale == 0.0 and shift == pytest.approx(gt.mean())
    with pytest.raises(ValueError, match='overflow'):
        align_depth_least_squares(np.where(gt > 5, 1e308, -1e308), gt)


def test_chunked_sums_equal_the_textbook_formulas_across_chunks():
    """Whole 480 x 640 maps run in cache-sized chunks with a mask that cuts
    them unevenly; every sum equals the textbook formula summed exactly
    (math.fsum) and the fit equals np.linalg.lstsq."""
    from unidense.evaluation.functional.depth_alignment import CHUNK
    rng = np.random.default_rng(3)
    gt = rng.uniform(0.5, 10.0, (480, 640))
    pred = gt * rng.uniform(0.6, 1.6, gt.shape)
    mask = rng.random(gt.shape) < 0.7
    assert mask.size > 10 * CHUNK
    sums = depth_error_sums(pred, gt, mask)
    p, g = pred[mask], gt[mask]
    ratio = np.maximum(p / g, g / p)
    exact = dict(
        count=p.size, abs_rel=math.fsum(np.abs(p - g) / g),
        sq_rel=math.fsum((p - g)**2 / g), sq_err=math.fsum((p - g)**2),
        sq_log=math.fsum((np.log(p) - np.log(g))**2),
        log10=math.fsum(np.abs(np.log10(p) - np.log10(g))),
        delta1=np.sum(ratio < 1.25), delta2=np.sum(ratio < 1.25**2),
        delta3=np.sum(ratio < 1.25**3),
        log_diff=math.fsum(np.log(p) - np.log(g)),
        sq_inv=math.fsum((1 / p - 1 / g)**2))
    for key, value in exact.items():
        assert sums[key] == pytest.approx(value, rel=1e-14, abs=0), key
    depth = 0.5 * pred + 2.0 + rng.normal(0, 0.1, pred.shape)
    _, scale, shift = align_depth_least_squares(depth, gt, mask)
    design = np.stack([depth[mask], np.ones(mask.sum())], axis=1)
    (s_ref, t_ref), *_ = np.linalg.lstsq(design, gt[mask], rcond=None)
    assert scale == pytest.approx(s_ref, rel=1e-12)
    assert shift == pytest.approx(t_ref, rel=1e-12)
