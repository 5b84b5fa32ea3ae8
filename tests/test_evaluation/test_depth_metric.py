"""DepthMetric: presets on real NYU frames, hand-computed values, bad input."""
import math
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from unidense.evaluation import DEPTH_PRESETS, DepthMetric
from unidense.registry import METRICS

NYU_DIR = osp.join(osp.dirname(__file__), '..', '..', '..', 'shared', 'data',
                   'realdata', 'nyu_depth_v2', 'nyu2_test')


def _sample(pred, gt, valid=None, **meta):
    s = dict(pred_depth=dict(data=torch.as_tensor(pred)),
             gt_depth=dict(data=torch.as_tensor(gt)),
             img_path=meta.pop('img_path', 'img.png'), **meta)
    if valid is not None:
        s['gt_depth_valid'] = dict(data=torch.as_tensor(valid))
    return s


def _run(metric, samples):
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def _nyu_gt(index):
    path = osp.join(NYU_DIR, f'{index:05d}_depth.png')
    depth = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert depth is not None and depth.dtype == np.uint16, path
    return torch.from_numpy(depth.astype(np.float32) / 1000.0)[None], path


@pytest.mark.parametrize('preset', ['marigold_nyu', 'merge_nyu'])
def test_real_nyu_affine_prediction_scores_perfectly(preset):
    samples = []
    for idx in (0, 1):
        gt, path = _nyu_gt(idx)
        # A float32 prediction related to the GT by a known affine map, as
        # an affine-invariant model would output it.
        pred = ((gt - 0.35) / 2.5).float()
        samples.append(_sample(pred, gt, img_path=path))
    m = METRICS.build(dict(type='DepthMetric', preset=preset))
    res = _run(m, samples)
    assert res['protocol'] == preset and res['num_images'] == 2
    # Presets report percent; the raw fraction must be < 1e-6.
    assert res['abs_rel'] / 100.0 < 1e-6
    assert res['delta1'] == 100.0
    assert res['rmse'] < 1e-5 and res['silog'] < 1e-3
    for rec in m.results:
        assert rec['scale'] == pytest.approx(2.5, rel=1e-6)
        assert rec['shift'] == pytest.approx(0.35, abs=1e-5)
    # Without alignment the same prediction is clearly wrong.
    bad = _run(DepthMetric(preset=preset, alignment='none'), samples)
    assert bad['abs_rel'] > 10 and bad['delta1'] < 90


def test_protocol_auto_reads_sample_meta_and_groups():
    gt, path = _nyu_gt(8)
    pred = gt * 0.5 + 0.1
    res = _run(DepthMetric(protocol='auto'),
               [_sample(pred, gt, img_path=path, protocol='nyu')])
    assert res['protocol'] == 'marigold_nyu' and res['delta1'] == 100.0
    # Two protocols in one run are reported separately.
    g = torch.full((1, 8, 8), 3.0)
    res = _run(DepthMetric(protocol='auto'), [
        _sample(pred, gt, img_path=path, protocol='nyu'),
        _sample(g * 2, g, protocol='scannet')])
    assert res['marigold_nyu/num_images'] == 1
    assert res['marigold_scannet/num_images'] == 1
    with pytest.raises(KeyError, match="no 'protocol'"):
        _run(DepthMetric(protocol='auto'), [_sample(g, g)])
    # A preset serves as the fallback for samples without the key.
    assert _run(DepthMetric(protocol='auto', preset='marigold_scannet'),
                [_sample(g, g)])['protocol'] == 'marigold_scannet'


def test_hand_computed_mean_versus_pooled():
    # image A: 3 pixels, errors from the functional test; image B: 1 pixel
    # with abs_rel 0.5.
    a = _sample([[[1.0, 2.0, 4.0]]], [[[1.0, 1.0, 2.0]]])
    b = _sample([[[3.0]]], [[[2.0]]])
    mean = _run(DepthMetric(), [a, b])
    assert mean['abs_rel'] == pytest.approx((2 / 3 + 0.5) / 2)
    assert mean['rmse'] == pytest.approx((math.sqrt(5 / 3) + 1.0) / 2)
    assert mean['delta1'] == pytest.approx((1 / 3 + 0.0) / 2)
    assert mean['protocol'] == 'custom' and mean['skipped'] == 0
    pooled = _run(DepthMetric(reduction='pooled'), [a, b])
    assert pooled['abs_rel'] == pytest.approx((2.0 + 0.5) / 4)
    assert pooled['rmse'] == pytest.approx(math.sqrt(6 / 4))
    pct = _run(DepthMetric(scale_percent=True, metrics=['abs_rel', 'rmse']),
               [a, b])
    assert pct['abs_rel'] == pytest.approx(100 * mean['abs_rel'])
    assert pct['rmse'] == pytest.approx(mean['rmse'])
    assert 'delta1' not in pct


def test_range_crop_and_dataset_mask():
    gt = torch.tensor([[[0.5, 2.0, 20.0, 2.0]]])
    pred = torch.tensor([[[9.0, 2.0, 9.0, 4.0]]])
    valid = torch.tensor([[[True, True, True, False]]])
    res = _run(DepthMetric(min_depth=1.0, max_depth=10.0),
               [_sample(pred, gt, valid)])
    assert res['abs_rel'] == 0.0  # only pixel 1 survives
    res = _run(DepthMetric(min_depth=1.0, max_depth=10.0,
                           use_valid_mask=False), [_sample(pred, gt, valid)])
    assert res['abs_rel'] == pytest.approx(0.5)
    res = _run(DepthMetric(crop=(0, 1, 3, 4), use_valid_mask=False),
               [_sample(pred, gt, valid)])
    assert res['abs_rel'] == pytest.approx(1.0)


def test_other_alignments_in_the_metric():
    g = torch.linspace(1.0, 5.0, 64, dtype=torch.float64).reshape(1, 8, 8)
    res = _run(DepthMetric(alignment='median_scale'), [_sample(g / 3, g)])
    assert res['abs_rel'] < 1e-12
    disp = (1.0 / g.double() - 0.1) * 4
    res = _run(DepthMetric(alignment='least_squares_disparity'),
               [_sample(disp, g)])
    assert res['abs_rel'] < 1e-9
    res = _run(DepthMetric(preset='jointnet_megadepth',
                           alignment_kwargs=dict(num_fits=5,
                                                 num_samples=20)),
               [_sample(disp, g)])
    assert res['abs_rel'] < 1e-9 and res['i_rmse'] < 1e-9


def test_presets_are_complete_and_buildable():
    for name in ('nyu', 'kitti', 'eth3d', 'scannet', 'diode', 'hypersim',
                 'vkitti'):
        preset = DEPTH_PRESETS[f'marigold_{name}']
        assert preset['alignment'] == 'least_squares'
        assert preset['reduction'] == 'mean'
        assert DepthMetric(preset=name).preset == f'marigold_{name}'
    assert DEPTH_PRESETS['marigold_nyu']['crop'] == 'eigen_nyu'
    assert DEPTH_PRESETS['marigold_eth3d']['alignment_max_res'] == 1024
    assert DEPTH_PRESETS['marigold_diode']['min_depth'] == 0.6
    with pytest.raises(KeyError, match='unknown depth protocol'):
        DepthMetric(preset='nyu_v3')
    with pytest.raises(ValueError, match='alignment must be'):
        DepthMetric(alignment='lsq')


def test_bad_input_never_gives_nan():
    g = torch.linspace(1.0, 5.0, 16).reshape(1, 4, 4)
    pred = g.clone() * 2
    pred[0, 0, 0] = float('nan')
    pred[0, 0, 1] = float('inf')
    gt = g.clone()
    gt[0, 1, 0] = float('nan')
    gt[0, 1, 1] = -1.0
    gt[0, 1, 2] = 0.0
    samples = [
        _sample(pred, gt),
        _sample(g, torch.zeros_like(g), img_path='empty.png'),  # all invalid
        _sample(-g, g),  # negative prediction without alignment
    ]
    m = DepthMetric(preset='marigold_nyu', crop='none')
    res = _run(m, samples)
    assert res['skipped'] == 1 and res['num_images'] == 2
    assert all(math.isfinite(v) for v in res.values()
               if isinstance(v, float))
    assert m.results[0]['sums']['count'] == 16 - 5
    res = _run(DepthMetric(), [_sample(-g, g)])
    assert all(math.isfinite(v) for v in res.values()
               if isinstance(v, float)) and res['delta3'] == 0.0
    # Every sample invalid: counts only, no NaN.
    res = _run(DepthMetric(), [_sample(g, torch.zeros_like(g))])
    assert res == dict(num_images=0, skipped=1, protocol='custom')


def test_shape_mismatch_is_refused_or_resized():
    gt = torch.full((1, 6, 8), 2.0)
    pred = torch.full((1, 3, 4), 2.0)
    with pytest.raises(ValueError) as err:
        _run(DepthMetric(), [_sample(pred, gt, img_path='nyu/0001.png')])
    msg = str(err.value)
    assert '(1, 3, 4)' in msg and '(1, 6, 8)' in msg and 'nyu/0001.png' in msg
    assert _run(DepthMetric(resize_pred=True),
                [_sample(pred, gt)])['abs_rel'] == 0.0
    with pytest.raises(ValueError, match='1 channel'):
        _run(DepthMetric(), [_sample(torch.ones(3, 6, 8), gt)])
    with pytest.raises(ValueError, match='gt_depth_valid'):
        _run(DepthMetric(), [_sample(gt, gt, torch.ones(1, 2, 2, dtype=bool))])
    with pytest.raises(KeyError, match='pred_depth'):
        _run(DepthMetric(), [dict(gt_depth=dict(data=gt), img_path='x')])


def test_accepts_data_samples_and_evaluate_prefix():
    from unidense.structures import DenseDataSample
    s = DenseDataSample(metainfo=dict(img_path='a.png'))
    s.gt_depth = torch.full((1, 4, 4), 2.0)
    s.pred_depth = torch.full((1, 4, 4), 2.0)
    m = DepthMetric(metrics=['abs_rel'])
    m.process({}, [s.to_dict(), s])
    res = m.evaluate(2)
    assert res['depth/abs_rel'] == 0.0 and res['depth/num_images'] == 2


def test_per_image_csv(tmp_path):
    import csv
    out = tmp_path / 'm' / 'per_image.csv'
    g = torch.full((1, 2, 2), 2.0)
    m = DepthMetric(metrics=['abs_rel', 'delta1'], scale_percent=True,
                    per_image_csv=str(out))
    _run(m, [_sample(g * 1.5, g, img_path='a.png'),
             _sample(g, torch.zeros_like(g), img_path='b.png')])
    rows = list(csv.DictReader(open(out)))
    assert [r['img_path'] for r in rows] == ['a.png', 'b.png']
    assert float(rows[0]['abs_rel']) == pytest.approx(50.0)
    assert float(rows[0]['delta1']) == 0.0
    assert rows[1]['skipped'] == '1' and rows[1]['abs_rel'] == ''


def test_dataset_protocol_names_have_presets():
    from unidense.evaluation.metrics import get_depth_preset
    for proto in ('nyu', 'kitti', 'marigold_kitti_garg', 'eth3d', 'scannet',
                  'diode', 'hypersim', 'vkitti', 'megadepth', 'nyud_mt',
                  'synthetic'):
        assert get_depth_preset(proto)['reduction'] in ('mean', 'pooled')
    assert get_depth_preset('nyud_mt')['alignment'] == 'none'


KITTI_DIR = osp.join(osp.dirname(__file__), '..', '..', '..', 'shared',
                     'data', 'realdata', 'kitti', 'depth')


def test_real_kitti_semi_dense_with_kb_and_eigen_crop():
    path = osp.join(KITTI_DIR, '0000000005.png')
    raw = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert raw is not None and raw.dtype == np.uint16, path
    depth = raw.astype(np.float64) / 256.0
    # KB crop (done by the dataset in unidense): bottom 352 rows, centred
    # 1216 columns.
    h, w = depth.shape
    top, left = h - 352, (w - 1216) // 2
    gt = torch.from_numpy(depth[top:, left:left + 1216].copy())[None]
    pred = (gt - 1.5) / 20.0
    m = DepthMetric(preset='marigold_kitti')
    res = _run(m, [_sample(pred, gt, img_path=path)])
    assert res['abs_rel'] / 100 < 1e-6 and res['delta1'] == 100.0
    g = gt[0].numpy()
    in_crop = np.zeros_like(g, dtype=bool)
    in_crop[int(0.3324324 * 352):int(0.91351351 * 352),
            int(0.0359477 * 1216):int(0.96405229 * 1216)] = True
    expected = int(((g > 1e-5) & (g < 80) & in_crop).sum())
    # semi-dense: zeros are invalid, far points and the crop border drop out
    assert 0 < expected < 0.3 * g.size
    assert m.results[0]['sums']['count'] == expected
