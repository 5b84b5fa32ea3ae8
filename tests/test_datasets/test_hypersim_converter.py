"""tools/dataset_converters/hypersim.py: tone map, planar depth, layout."""
import importlib.util
import os
import os.path as osp

import numpy as np
import pytest

from unidense.datasets import HypersimDataset


def _mod(repo_root):
    path = osp.join(repo_root, 'tools', 'dataset_converters', 'hypersim.py')
    spec = importlib.util.spec_from_file_location('hypersim_conv', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_planar_depth_and_tone_map(repo_root):
    mod = _mod(repo_root)
    # A fronto-parallel plane at z = 2 m seen by a 1024x768 pinhole camera.
    h, w, f = 768, 1024, mod.FOCAL
    x = np.arange(w) - w / 2 + 0.5
    y = np.arange(h) - h / 2 + 0.5
    ray = np.sqrt(x[None] ** 2 + y[:, None] ** 2 + f ** 2) / f
    dist = 2.0 * ray
    np.testing.assert_allclose(mod.distance_to_planar(dist), 2.0, rtol=1e-9)

    rng = np.random.default_rng(0)
    hdr = rng.uniform(0, 5, (6, 8, 3))
    valid = np.ones((6, 8), bool)
    tm = mod.tone_map(hdr, valid)
    bright = 0.3 * hdr[..., 0] + 0.59 * hdr[..., 1] + 0.11 * hdr[..., 2]
    scale = 0.8 ** 2.2 / np.percentile(bright, 90)
    np.testing.assert_allclose(tm, np.clip((scale * hdr) ** (1 / 2.2), 0, 1))
    assert (mod.tone_map(hdr, np.zeros_like(valid)) == 0).all()


def test_convert_scene_tree(tmp_path, repo_root):
    h5py = pytest.importorskip('h5py')
    mod = _mod(repo_root)
    root = tmp_path / 'hypersim_raw'
    img = root / 'ai_001_001' / 'images'
    os.makedirs(img / 'scene_cam_00_final_hdf5')
    os.makedirs(img / 'scene_cam_00_geometry_hdf5')
    h, w = 6, 8
    dist = np.full((h, w), 3.0, np.float32)
    dist[0, 0] = np.nan
    ent = np.zeros((h, w), np.int32)
    ent[1, 1] = -1
    for name, arr in (
            ('scene_cam_00_final_hdf5/frame.0000.color.hdf5',
             np.full((h, w, 3), 0.5, np.float32)),
            ('scene_cam_00_geometry_hdf5/frame.0000.depth_meters.hdf5',
             dist),
            ('scene_cam_00_geometry_hdf5/frame.0000.render_entity_id.hdf5',
             ent)):
        with h5py.File(img / name, 'w') as f:
            f['dataset'] = arr
    csv_path = tmp_path / 'split.csv'
    csv_path.write_text(
        'scene_name,camera_name,frame_id,included_in_public_release,'
        'exclude_reason,split_partition_name\n'
        'ai_001_001,cam_00,0,True,,train\n'
        'ai_001_001,cam_00,1,False,,train\n'
        'ai_001_002,cam_00,0,True,,val\n')
    out = tmp_path / 'hypersim'
    assert mod.convert(str(root), str(csv_path), str(out), 'train') == 1
    ds = HypersimDataset(data_root=str(out),
                         ann_file='filename_list_train.txt',
                         pipeline=[dict(type='LoadImage'),
                                   dict(type='LoadDepth')])
    r = ds[0]
    assert r['img'].shape == (6, 8, 3)
    assert not r['gt_depth_valid'][0, 0] and not r['gt_depth_valid'][1, 1]
    # tiny frame with the full-size focal: planar ~= distance
    assert r['gt_depth'][3, 4] == pytest.approx(3.0, abs=2e-3)
    assert r['gt_depth_valid'].sum() == h * w - 2
