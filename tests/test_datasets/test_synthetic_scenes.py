"""SyntheticScenes: determinism, geometry consistency, captions, speed."""
import time

import numpy as np
import pytest
import torch

from unidense.datasets import SyntheticScenes
from unidense.datasets.synthetic_scenes import RESULT_KEYS
from unidense.registry import DATASETS


def _backproject(depth, intr):
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w]
    fx, cx, fy, cy = intr[0][0], intr[0][2], intr[1][1], intr[1][2]
    return np.stack([(u - cx) / fx * depth, (v - cy) / fy * depth, depth], -1)


def test_deterministic_per_index_and_seed():
    a = SyntheticScenes(num_samples=5, img_size=32, seed=3)
    b = SyntheticScenes(num_samples=5, img_size=32, seed=3)
    c = SyntheticScenes(num_samples=5, img_size=32, seed=4)
    ra, rb, rc = a.render(2), b.render(2), c.render(2)
    np.testing.assert_array_equal(ra['img'], rb['img'])
    np.testing.assert_array_equal(ra['gt_depth'], rb['gt_depth'])
    assert ra['caption'] == rb['caption']
    assert not np.array_equal(ra['img'], rc['img'])
    assert not np.array_equal(a.render(1)['gt_depth'], ra['gt_depth'])


def test_fields_shapes_ranges():
    ds = SyntheticScenes(num_samples=3, img_size=(24, 40))
    r = ds.render(0)
    assert r['img'].shape == (24, 40, 3) and r['img'].dtype == np.uint8
    assert r['gt_depth'].shape == (24, 40) and r['gt_depth'].dtype == \
        np.float32
    assert np.isfinite(r['gt_depth']).all() and (r['gt_depth'] > 0.1).all()
    assert r['gt_depth'].max() < r['depth_range'][1]
    n = r['gt_normal']
    np.testing.assert_allclose(np.linalg.norm(n, axis=-1), 1, atol=1e-5)
    assert set(np.unique(r['gt_sem_seg'])) <= set(range(6))
    assert len(ds.metainfo['classes']) == 6
    # Every visible surface faces the camera: in the z-forward frame the
    # view ray (the back-projected point) and the normal point opposite.
    pts = _backproject(r['gt_depth'], r['intrinsics'])
    n_cv = n * np.array([1, 1, -1])          # back to z forward
    facing = (pts * n_cv).sum(-1)
    assert (facing < 1e-4).mean() > 0.999


def test_normals_match_depth_geometry():
    """Normals from the renderer agree with normals of the back-projected
    depth (finite differences) on smooth interior pixels."""
    ds = SyntheticScenes(num_samples=4, img_size=64, seed=1)
    for idx in range(3):
        r = ds.render(idx)
        pts = _backproject(r['gt_depth'].astype(np.float64),
                           r['intrinsics'])
        dx = pts[1:-1, 2:] - pts[1:-1, :-2]
        dy = pts[2:, 1:-1] - pts[:-2, 1:-1]
        n_fd = np.cross(dx, dy)
        n_fd /= np.linalg.norm(n_fd, axis=-1, keepdims=True) + 1e-12
        n_gt = r['gt_normal'][1:-1, 1:-1] * np.array([1, 1, -1])
        # x right, y down: cross(dx, dy) points away from the camera (+z),
        # the renderer's normals point towards it.
        cos = -(n_fd * n_gt).sum(-1)
        lab = r['gt_sem_seg']
        same = np.ones_like(lab, bool)[1:-1, 1:-1]
        for di, dj in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            same &= lab[1 + di:lab.shape[0] - 1 + di,
                        1 + dj:lab.shape[1] - 1 + dj] == lab[1:-1, 1:-1]
        # Planar surfaces give exact agreement away from edges.
        planar = same & (lab[1:-1, 1:-1] != 4)
        assert np.median(cos[planar]) > 0.999
        assert (cos[planar] > 0.99).mean() > 0.9


def test_floor_is_horizontal_in_world_and_labelled():
    ds = SyntheticScenes(num_samples=2, img_size=48, seed=0)
    r = ds.render(0)
    floor = r['gt_sem_seg'] == 0
    assert floor.any()
    # Seen from a level-ish camera, the floor normal points up: y < 0.
    assert (r['gt_normal'][floor][:, 1] < -0.9).all()
    ceiling = r['gt_sem_seg'] == 2
    if ceiling.any():
        assert (r['gt_normal'][ceiling][:, 1] > 0.9).all()


def test_caption_mentions_objects():
    ds = SyntheticScenes(num_samples=20, img_size=16, max_objects=3)
    for i in range(20):
        r = ds.render(i)
        cap = r['caption']
        assert cap.split(' with ')[0] in ('a room', 'a dim room',
                                          'a bright room')
        assert not any(f' a {v}' in cap for v in 'aeiou')   # "an orange"
        for kind, color in zip(r['scene']['kinds'], r['scene']['colors']):
            assert kind in cap and color in cap
        assert set(cap.replace(',', '').split()) <= set(ds.vocabulary())
        labels = set(np.unique(r['gt_sem_seg']).tolist())
        for kind, label in (('box', 3), ('sphere', 4), ('cylinder', 5)):
            if kind not in r['scene']['kinds']:
                assert label not in labels


def test_objects_named_left_to_right_and_shapes_option():
    ds = SyntheticScenes(num_samples=30, img_size=48, max_objects=4)
    checked = 0
    for i in range(30):
        r = ds.render(i)
        if len(r['scene']['kinds']) < 2:
            continue
        # Mean image column of each object's pixels grows left to right
        # (objects hidden behind others have no pixels and are skipped).
        scene = ds.sample_scene(i)
        cols = []
        for k, obj in enumerate(scene['objects']):
            mask = np.zeros(r['gt_sem_seg'].shape, bool)
            label = {'box': 3, 'sphere': 4, 'cylinder': 5}[obj['kind']]
            kinds = [o['kind'] for o in scene['objects']]
            if kinds.count(obj['kind']) == 1:
                mask = r['gt_sem_seg'] == label
            if mask.sum() > 4:
                cols.append(np.nonzero(mask)[1].mean())
        if len(cols) >= 2:
            checked += 1
            assert cols == sorted(cols), (i, cols, r['caption'])
    assert checked >= 5
    only = SyntheticScenes(num_samples=10, img_size=16, shapes=('sphere', ))
    assert all(set(only.render(i)['scene']['kinds']) == {'sphere'}
               for i in range(10))
    with pytest.raises(ValueError, match='shapes'):
        SyntheticScenes(shapes=('cone', ))


def test_cache_returns_equal_independent_copies():
    ds = SyntheticScenes(num_samples=3, img_size=16, cache_size=2)
    first = ds.get_data_info(0)
    first['img'][:] = 0                       # a transform writing in place
    again = ds.get_data_info(0)
    np.testing.assert_array_equal(again['img'], ds.render(0)['img'])
    ds.get_data_info(1), ds.get_data_info(2)
    assert list(ds._cache) == [1, 2]          # least recently used left


def test_prerender_and_cache_keys():
    lazy = SyntheticScenes(num_samples=5, img_size=16, seed=3)
    assert tuple(lazy.render(0)) == RESULT_KEYS
    kept = ('img', 'caption')
    for processes in (1, 2):
        ds = SyntheticScenes(num_samples=5, img_size=16, seed=3,
                             cache_size=4, cache_keys=kept,
                             prerender=processes)
        assert list(ds._cache) == [0, 1, 2, 3]     # rendered up front
        for i in range(5):                         # 4: past the cache
            info = ds.get_data_info(i)
            ref = lazy.render(i)
            assert set(info) == {'sample_idx', 'scene_idx', *kept}
            np.testing.assert_array_equal(info['img'], ref['img'])
            assert info['caption'] == ref['caption']
    packed = DATASETS.build(dict(
        type='SyntheticScenes', num_samples=2, img_size=16, cache_size=2,
        cache_keys=kept, prerender=1,
        pipeline=[dict(type='LoadImage'), dict(type='PackDenseInputs')]))[1]
    assert packed['inputs'].shape == (3, 16, 16)
    assert packed['data_samples'].caption == SyntheticScenes(
        num_samples=2, img_size=16).render(1)['caption']
    with pytest.raises(ValueError, match=r"cache_keys \['depth'\]"):
        SyntheticScenes(num_samples=2, cache_keys=('img', 'depth'))
    with pytest.raises(ValueError, match='prerender=2 needs cache_size'):
        SyntheticScenes(num_samples=2, prerender=2)
    with pytest.raises(ValueError, match='processes >= 0'):
        SyntheticScenes(num_samples=2, cache_size=2, prerender=-1)


class _Unpicklable(SyntheticScenes):
    def __reduce__(self):
        raise AssertionError('the dataset (and its cache) was pickled')


def test_prerender_workers_never_pickle_the_dataset():
    # Pickling the dataset per task made prerendering quadratic (60,000
    # scenes slowed from 475 to 45 per second on a 16-core machine).
    ds = _Unpicklable(num_samples=130, img_size=8, cache_size=130,
                      cache_keys=('img', ), prerender=2)
    assert len(ds._cache) == 130
    np.testing.assert_array_equal(ds._cache[129]['img'],
                                  ds.render(129)['img'])


def test_through_pipeline_and_registry():
    ds = DATASETS.build(dict(
        type='SyntheticScenes', num_samples=4, img_size=(30, 44),
        pipeline=[dict(type='LoadImage'), dict(type='LoadDepth'),
                  dict(type='LoadNormal'), dict(type='NormalizeDepth'),
                  dict(type='PadToMultiple', size_divisor=16),
                  dict(type='PackDenseInputs')]))
    out = ds[1]
    assert out['inputs'].shape == (3, 32, 48)
    s = out['data_samples']
    assert s.gt_depth_norm.data.shape == (1, 32, 48)
    valid = s.gt_depth_valid.data[0]
    assert valid[:30, :44].all() and not valid[30:].any()
    norm = s.gt_depth_norm.data[0][valid]
    assert norm.min() == -1 and norm.max() == 1
    assert s.metainfo['padding'] == (0, 2, 0, 4)
    assert s.metainfo['protocol'] == 'synthetic'
    assert ' room with ' in s.caption
    with pytest.raises(ValueError, match='num_samples'):
        SyntheticScenes(num_samples=0)


def test_speed_at_64():
    """>= 50 samples/s at 64x64 on one core (measured 130-300/s)."""
    ds = SyntheticScenes(num_samples=100, img_size=64)
    ds.render(0)
    torch.set_num_threads(1)
    try:
        # Best of three passes: the CI box is shared, and contention only
        # ever slows a pass down.
        best = float('inf')
        for _ in range(3):
            start = time.perf_counter()
            for i in range(100):
                ds.render(i)
            best = min(best, time.perf_counter() - start)
        rate = 100 / best
    finally:
        torch.set_num_threads(2)
    assert rate >= 50, f'{rate:.1f} samples/s'
