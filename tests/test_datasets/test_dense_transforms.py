"""Transforms: loading formats, geometry bookkeeping, normalisation."""
import warnings

import cv2
import numpy as np
import pytest
import torch

from unidense.datasets.transforms import (KBCrop, LoadDepth, LoadDepthMask,
                                          LoadImage, LoadNormal, LoadSaliency,
                                          LoadSemSeg, NormalizeDepth,
                                          PackDenseInputs, PadToMultiple,
                                          PhotoMetricDistortion, RandomCrop,
                                          RandomFlip, RandomResize, Resize,
                                          ResizeToMultiple)
from unidense.registry import TRANSFORMS
from unidense.structures import restore_to_original


def _results(h=10, w=14, seed=0):
    rng = np.random.default_rng(seed)
    normal = rng.normal(size=(h, w, 3)).astype(np.float32)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    return dict(img=rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
                gt_depth=rng.uniform(1, 5, (h, w)).astype(np.float32),
                gt_depth_valid=np.ones((h, w), bool),
                gt_normal=normal, gt_normal_valid=np.ones((h, w), bool),
                gt_sem_seg=rng.integers(0, 5, (h, w)).astype(np.int64),
                ori_shape=(h, w), img_shape=(h, w))


def _write_rgb(path, img):
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


# -- loading ------------------------------------------------------------------
def test_load_image_rgb_order_and_shapes(tmp_path):
    img = np.zeros((6, 8, 3), np.uint8)
    img[..., 0] = 200  # red
    _write_rgb(tmp_path / 'a.png', img)
    r = LoadImage()(dict(img_path=str(tmp_path / 'a.png')))
    assert r['img'][0, 0].tolist() == [200, 0, 0]
    assert r['ori_shape'] == (6, 8) and r['img_shape'] == (6, 8)
    cv2.imwrite(str(tmp_path / 'g.png'), np.full((4, 5), 7, np.uint8))
    assert LoadImage()(dict(img_path=str(tmp_path / 'g.png')))['img'].shape \
        == (4, 5, 3)
    with pytest.raises(FileNotFoundError, match='img_path'):
        LoadImage()(dict(img_path=str(tmp_path / 'missing.png')))


def test_load_depth_png_scales_invalid_and_range(tmp_path):
    raw = np.array([[0, 1000, 2500], [65535, 12000, 500]], np.uint16)
    cv2.imwrite(str(tmp_path / 'd.png'), raw)
    r = LoadDepth(invalid_values=[65535])(dict(
        depth_path=str(tmp_path / 'd.png'), depth_scale=1000.0,
        depth_range=(1e-3, 10.0)))
    np.testing.assert_allclose(r['gt_depth'],
                               [[0, 1, 2.5], [0, 12, 0.5]], rtol=1e-6)
    assert r['gt_depth_valid'].tolist() == [[False, True, True],
                                            [False, False, True]]
    # explicit scale wins over the dataset's (KITTI /256)
    r = LoadDepth(depth_scale=256)(dict(depth_path=str(tmp_path / 'd.png'),
                                        depth_scale=1000.0))
    assert r['gt_depth'][0, 1] == pytest.approx(1000 / 256)


def test_load_depth_npy_inf_nan_negative(tmp_path):
    d = np.array([[np.inf, 2.0], [np.nan, -1.0]], np.float32)[..., None]
    np.save(tmp_path / 'd.npy', d)
    r = LoadDepth()(dict(depth_path=str(tmp_path / 'd.npy')))
    assert r['gt_depth'].tolist() == [[0, 2], [0, 0]]
    assert r['gt_depth_valid'].tolist() == [[False, True], [False, False]]


def test_load_depth_raw_float32_eth3d_style(tmp_path):
    d = np.arange(12, dtype=np.float32).reshape(3, 4)
    d[0, 0] = np.inf
    d.tofile(tmp_path / 'DSC_0001.JPG')
    r = dict(img=np.zeros((3, 4, 3), np.uint8))
    r['depth_path'] = str(tmp_path / 'DSC_0001.JPG')
    r = LoadDepth(file_format='raw_float32')(r)
    assert r['gt_depth'][2, 3] == 11 and r['gt_depth'][0, 0] == 0
    with pytest.raises(ValueError, match='raw file'):
        LoadDepth(file_format='raw_float32', raw_shape=(5, 5))(
            dict(depth_path=str(tmp_path / 'DSC_0001.JPG')))


def test_load_depth_bit_rotation_sun_format(tmp_path):
    mm = np.array([[1234, 8000]], np.uint16)
    stored = ((mm << 3) | (mm >> 13)).astype(np.uint16)
    cv2.imwrite(str(tmp_path / 's.png'), stored)
    r = LoadDepth(depth_scale=1000, bit_rotation=True)(
        dict(depth_path=str(tmp_path / 's.png')))
    np.testing.assert_allclose(r['gt_depth'], [[1.234, 8.0]], rtol=1e-6)


def test_load_depth_shape_mismatch_is_clear(tmp_path):
    cv2.imwrite(str(tmp_path / 'd.png'), np.ones((4, 4), np.uint16))
    with pytest.raises(ValueError, match='depth shape'):
        LoadDepth()(dict(img=np.zeros((5, 5, 3), np.uint8),
                         depth_path=str(tmp_path / 'd.png')))


def test_load_depth_mask_and_normals_and_labels(tmp_path):
    np.save(tmp_path / 'm.npy', np.array([[1, 0], [1, 1]], np.float32))
    r = dict(gt_depth=np.ones((2, 2), np.float32),
             gt_depth_valid=np.ones((2, 2), bool),
             depth_mask_path=str(tmp_path / 'm.npy'))
    r = LoadDepthMask()(r)
    assert r['gt_depth_valid'].tolist() == [[True, False], [True, True]]

    # Bae PNG: v = (n + 1) * 255 / 2, (0, 0, 0) invalid.
    enc = np.array([[[128, 128, 255], [0, 0, 0]]], np.uint8)
    _write_rgb(tmp_path / 'n.png', enc)
    r = LoadNormal()(dict(normal_path=str(tmp_path / 'n.png')))
    np.testing.assert_allclose(r['gt_normal'][0, 0], [0, 0, 1], atol=0.01)
    assert r['gt_normal'][0, 1].tolist() == [0, 0, 0]
    assert r['gt_normal_valid'].tolist() == [[True, False]]

    cv2.imwrite(str(tmp_path / 'l.png'), np.array([[0, 1, 13]], np.uint8))
    r = LoadSemSeg(reduce_zero_label=True)(
        dict(seg_map_path=str(tmp_path / 'l.png')))
    assert r['gt_sem_seg'].tolist() == [[255, 0, 12]]
    r = LoadSemSeg()(dict(seg_map_path=str(tmp_path / 'l.png'),
                          reduce_zero_label=False))
    assert r['gt_sem_seg'].tolist() == [[0, 1, 13]]
    r = LoadSemSeg(key='gt_parsing', path_key='parsing_path',
                   fill_missing=True)(dict(img=np.zeros((2, 3, 3), np.uint8),
                                           parsing_path=None))
    assert (r['gt_parsing'] == 255).all()

    cv2.imwrite(str(tmp_path / 's.png'), np.array([[0, 100, 200]], np.uint8))
    r = LoadSaliency()(dict(saliency_path=str(tmp_path / 's.png')))
    assert r['gt_saliency'].tolist() == [[0, 0, 1]]


# -- geometry -----------------------------------------------------------------
def test_resize_keep_ratio_and_nearest_maps():
    r = Resize(scale=(28, 20), keep_ratio=True)(_results(10, 14))
    assert r['img'].shape == (20, 28, 3) and r['gt_depth'].shape == (20, 28)
    assert r['scale_factor'] == (2.0, 2.0)
    assert r['gt_sem_seg'].dtype == np.int64
    assert set(np.unique(r['gt_sem_seg'])) <= set(range(5))
    assert r['gt_depth_valid'].dtype == bool
    np.testing.assert_allclose(np.linalg.norm(r['gt_normal'], axis=-1), 1,
                               atol=1e-5)
    # nearest: every resized depth value exists in the source
    src = _results(10, 14)['gt_depth']
    assert np.isin(r['gt_depth'], src).all()


def test_resize_keep_gt_at_ori_and_max_side():
    r = Resize(max_side=7, keep_gt_at_ori=True)(_results(10, 14))
    assert r['img'].shape == (5, 7, 3)
    assert r['gt_depth'].shape == (10, 14)
    with pytest.raises(ValueError, match='exactly one'):
        Resize(scale=(4, 4), max_side=3)


def test_random_resize_scales_depth_when_asked():
    np.random.seed(0)
    src = _results(10, 14)
    r = RandomResize(ratio_range=(2.0, 2.0), scale_depth=True)(
        {k: (v.copy() if isinstance(v, np.ndarray) else v)
         for k, v in src.items()})
    assert r['img'].shape == (20, 28, 3)
    np.testing.assert_allclose(r['gt_depth'][::2, ::2], src['gt_depth'] / 2,
                               rtol=1e-6)


def test_pad_to_multiple_records_padding_and_values():
    r = PadToMultiple(size_divisor=8)(_results(10, 14))
    assert r['img'].shape == (16, 16, 3)
    assert r['padding'] == (0, 6, 0, 2) and r['pad_shape'] == (16, 16)
    assert (r['gt_sem_seg'][10:] == 255).all()
    assert (r['gt_depth'][10:] == 0).all()
    assert not r['gt_depth_valid'][10:].any()
    assert (r['img'][10:] == 0).all()
    r = PadToMultiple(size_divisor=None, size=(12, 20), mode='center')(
        _results(10, 14))
    assert r['padding'] == (1, 1, 3, 3)
    with pytest.raises(ValueError, match='larger'):
        PadToMultiple(size_divisor=None, size=(8, 8))(_results(10, 14))
    r = ResizeToMultiple(size_divisor=8)(_results(10, 14))
    assert r['img'].shape == (8, 16, 3) and 'padding' not in r


def test_restore_undoes_resize_pad_flip():
    """A prediction made on the network grid comes back at ori_shape and
    aligned with the file's pixels (pipeline: resize, flip, pad)."""
    h, w = 12, 20
    res = _results(h, w)
    # A depth "prediction" that is the GT itself, smooth so bilinear
    # resizes stay close; x-gradient makes flips detectable.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    res['gt_depth'] = 1 + xx / w + 0.5 * yy / h
    np.random.seed(0)
    pipe = [Resize(scale_factor=2.0), RandomFlip(prob=1.0),
            PadToMultiple(size_divisor=16)]
    for t in pipe:
        res = t(res)
    assert res['flip'] is True and res['padding'] == (0, 8, 0, 8)
    meta = dict(ori_shape=(h, w), img_shape=res['img_shape'],
                pad_shape=res['pad_shape'], padding=res['padding'],
                flip=res['flip'], flip_direction='horizontal')
    pred = torch.from_numpy(res['gt_depth'])[None]
    # predict at 1/8 resolution as a latent model would
    pred_lr = torch.nn.functional.interpolate(pred[None], scale_factor=0.125,
                                              mode='bilinear')[0]
    back = restore_to_original(pred_lr, meta)[0].numpy()
    gt = 1 + xx / w + 0.5 * yy / h
    assert back.shape == (h, w)
    # left-right order restored (not mirrored); padding not smeared in
    assert back[:, -3:].mean() > back[:, :3].mean() + 0.5
    assert np.abs(back - gt)[2:-2, 2:-2].mean() < 0.08


def test_random_flip_negates_normal_x():
    src = _results()
    src['gt_normal'][0, 0] = 0  # invalid stays zero
    r = RandomFlip(prob=1.0)({k: (v.copy() if isinstance(v, np.ndarray)
                                  else v) for k, v in src.items()})
    np.testing.assert_allclose(r['gt_normal'][:, ::-1, 0],
                               -src['gt_normal'][..., 0])
    np.testing.assert_allclose(r['gt_normal'][:, ::-1, 1:],
                               src['gt_normal'][..., 1:])
    np.testing.assert_array_equal(r['gt_depth'][:, ::-1], src['gt_depth'])
    assert r['gt_normal'][0, -1].tolist() == [0, 0, 0]
    r = RandomFlip(prob=0.0)(_results())
    assert r['flip'] is False


def test_random_crop_cat_max_ratio_and_kb_crop():
    np.random.seed(1)
    r = _results(10, 14)
    r['gt_sem_seg'][:] = 0
    r['gt_sem_seg'][:, 10:] = 1
    out = RandomCrop((6, 8), cat_max_ratio=0.75)(r)
    assert out['img'].shape == (6, 8, 3) and out['gt_depth'].shape == (6, 8)
    counts = np.bincount(out['gt_sem_seg'].ravel(), minlength=2)
    assert counts.max() / counts.sum() < 0.75

    r = _results(375, 1242)
    r['intrinsics'] = [[700, 0, 600], [0, 700, 180], [0, 0, 1]]
    marker = r['gt_depth'][375 - 352, (1242 - 1216) // 2]
    out = KBCrop()(r)
    assert out['img'].shape == (352, 1216, 3)
    assert out['gt_depth'][0, 0] == marker
    assert out['ori_shape'] == (352, 1216) and out['kb_crop'] == (23, 13)
    assert out['intrinsics'][0][2] == 587 and out['intrinsics'][1][2] == 157
    with pytest.raises(ValueError, match='smaller'):
        KBCrop()(_results(10, 14))


def test_photometric_changes_only_image():
    np.random.seed(0)
    src = _results(16, 16)
    changed = False
    for _ in range(5):
        r = PhotoMetricDistortion()({k: (v.copy() if isinstance(
            v, np.ndarray) else v) for k, v in src.items()})
        assert r['img'].dtype == np.uint8
        np.testing.assert_array_equal(r['gt_depth'], src['gt_depth'])
        changed |= not np.array_equal(r['img'], src['img'])
    assert changed


# -- depth normalisation ------------------------------------------------------
def test_normalize_depth_quantiles_and_invalid():
    depth = np.linspace(1, 100, 100, dtype=np.float32).reshape(10, 10)
    valid = np.ones_like(depth, bool)
    valid[0, :5] = False
    r = NormalizeDepth()(dict(gt_depth=depth.copy(), gt_depth_valid=valid))
    d = depth[valid]
    lo, hi = np.quantile(d, [0.02, 0.98])
    expect = np.clip((d - lo) / (hi - lo) * 2 - 1, -1, 1)
    np.testing.assert_allclose(r['gt_depth_norm'][valid], expect, rtol=1e-5,
                               atol=1e-6)
    assert (r['gt_depth_norm'][~valid] == 1).all()
    assert r['gt_depth_norm'].min() == -1 and r['gt_depth_norm'].max() == 1
    assert r['depth_norm_range'] == pytest.approx((lo, hi))


def test_normalize_depth_bad_input_never_nan():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        r = NormalizeDepth()(dict(gt_depth=np.zeros((4, 4), np.float32),
                                  img_path='all_invalid.png'))
    assert r['valid_sample'] is False
    assert np.isfinite(r['gt_depth_norm']).all()
    assert any('all_invalid.png' in str(w.message) for w in caught)
    assert NormalizeDepth(drop_invalid=True)(
        dict(gt_depth=np.zeros((4, 4), np.float32))) is None
    const = NormalizeDepth()(dict(gt_depth=np.full((3, 3), 2.0, np.float32)))
    assert (const['gt_depth_norm'] == 0).all()
    nan = np.full((3, 3), np.nan, np.float32)
    nan[0, 0] = 1.0
    nan[1, 1] = 3.0
    out = NormalizeDepth()(dict(gt_depth=nan))
    assert np.isfinite(out['gt_depth_norm']).all()
    assert out['gt_depth_valid'].sum() == 2


# -- packing ------------------------------------------------------------------
def test_pack_dense_inputs_types_and_meta():
    r = _results(6, 8)
    r.update(caption='a room', protocol='nyu', padding=(0, 1, 0, 2),
             gt_saliency=np.zeros((6, 8), np.float32))
    out = PackDenseInputs()(r)
    assert out['inputs'].dtype == torch.uint8 and out['inputs'].shape == \
        (3, 6, 8)
    s = out['data_samples']
    assert s.gt_normal.data.shape == (3, 6, 8)
    assert s.gt_sem_seg.data.dtype == torch.int64
    assert s.gt_depth_valid.data.dtype == torch.bool
    assert s.caption == 'a room' and s.metainfo['protocol'] == 'nyu'
    assert s.metainfo['padding'] == (0, 1, 0, 2)
    np.testing.assert_array_equal(s.gt_normal.data.permute(1, 2, 0).numpy(),
                                  r['gt_normal'])
    with pytest.raises(KeyError):
        PackDenseInputs()(dict(gt_depth=np.zeros((2, 2))))
    bad = _results(6, 8)
    bad['gt_sem_seg'] = np.zeros((5, 8), np.int64)
    with pytest.raises(ValueError, match='gt_sem_seg has size'):
        PackDenseInputs()(bad)
    # test pipelines: GT at ori_shape, image resized -> accepted
    ok = Resize(scale_factor=0.5, keep_gt_at_ori=True)(_results(6, 8))
    assert PackDenseInputs()(ok)['data_samples'].gt_depth.data.shape == \
        (1, 6, 8)


def test_all_transforms_registered():
    for name in ('LoadImage', 'LoadDepth', 'LoadDepthMask', 'LoadNormal',
                 'LoadSemSeg', 'LoadSaliency', 'KBCrop', 'Resize',
                 'RandomResize', 'ResizeToMultiple', 'PadToMultiple',
                 'RandomCrop', 'RandomFlip', 'PhotoMetricDistortion',
                 'NormalizeDepth', 'PackDenseInputs'):
        assert TRANSFORMS.get(name) is not None, name
