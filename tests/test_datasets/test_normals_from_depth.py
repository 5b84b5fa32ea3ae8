"""NormalsFromDepth: the exact normals of SyntheticScenes' exact depth come
back (same axes), depth jumps are invalid, and real NYU depth gives unit
normals on most pixels."""
import os.path as osp

import numpy as np
import pytest

from unidense.registry import DATASETS, TRANSFORMS

NYU = osp.join(osp.dirname(__file__), '..', '..', '..', 'shared', 'data',
               'realdata', 'nyu_depth_v2', 'nyu2_test')


def _angles(a, b, mask):
    cos = np.clip(np.sum(a * b, -1), -1, 1)
    return np.degrees(np.arccos(cos[mask]))


def test_synthetic_depth_gives_its_exact_normals():
    ds = DATASETS.build(dict(type='SyntheticScenes', num_samples=4,
                             img_size=64, seed=3, max_objects=3))
    t = TRANSFORMS.build(dict(type='NormalsFromDepth', step=1))
    errors = []
    for i in range(4):
        scene = ds.render(i)
        out = t(dict(gt_depth=scene['gt_depth'],
                     intrinsics=scene['intrinsics']))
        ok = out['gt_normal_valid']
        assert ok.mean() > 0.6            # edges and silhouettes drop out
        errors.append(np.median(_angles(out['gt_normal'],
                                        scene['gt_normal'], ok)))
    assert max(errors) < 3.0, errors
    with pytest.raises(KeyError, match='intrinsics'):
        t(dict(gt_depth=np.ones((4, 4), np.float32)))


@pytest.mark.realdata
def test_real_nyu_depth():
    if not osp.isdir(NYU):
        pytest.skip('no ../shared/data/realdata')
    ds = DATASETS.build(dict(
        type='NYUv2Dataset', data_root=NYU, test_mode=True,
        pipeline=[dict(type='LoadImage'), dict(type='LoadDepth'),
                  dict(type='NormalsFromDepth')]))
    info = ds.get_data_info(0)
    out = ds.pipeline(info)
    n, ok = out['gt_normal'], out['gt_normal_valid']
    assert n.shape == (480, 640, 3) and ok.mean() > 0.5
    assert np.allclose(np.linalg.norm(n[ok], axis=-1), 1, atol=1e-5)
    # every normal faces the camera: n . P < 0 in the z-forward frame
    k = np.asarray(info['intrinsics'])
    v, u = np.nonzero(ok)
    z = out['gt_depth'][ok]
    points = np.stack([(u - k[0, 2]) * z / k[0, 0],
                       (v - k[1, 2]) * z / k[1, 1], z], -1)
    forward = n[ok] * np.array([1, 1, -1])
    assert (np.sum(forward * points, -1) < 0).all()
