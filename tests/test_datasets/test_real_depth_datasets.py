"""Dataset classes on the real NYU / KITTI / TUM / SUN RGB-D samples.

The data stays in ../shared/data/realdata; only split files are written to
tmp_path.
"""
import os.path as osp

import numpy as np
import pytest

from unidense.datasets import BaseDenseDataset, KITTIDataset, NYUv2Dataset
from unidense.registry import DATASETS

pytestmark = pytest.mark.realdata

NYU_IDS = [0, 1, 8]  # 0-based labelled indices; labels are 1-based names


def _nyu_pipeline():
    return [dict(type='LoadImage'), dict(type='LoadDepth'),
            dict(type='LoadSemSeg'), dict(type='PackDenseInputs')]


def test_nyu_split_file_depth_and_13_class_labels(realdata_root, tmp_path):
    root = osp.join(realdata_root, 'nyu_depth_v2')
    split = tmp_path / 'nyu_test_13.txt'
    split.write_text('\n'.join(
        f'nyu2_test/{i:05d}_colors.png nyu2_test/{i:05d}_depth.png '
        f'test_labels_13/new_nyu_class13_{i + 1:04d}.png'
        for i in NYU_IDS) + '\n# comment line\n\n')
    ds = DATASETS.build(dict(
        type='NYUv2Dataset', data_root=root, ann_file=str(split),
        num_classes=13, check_files=True,
        columns=('img_path', 'depth_path', 'seg_map_path'),
        pipeline=_nyu_pipeline()))
    assert len(ds) == 3
    assert ds.metainfo['classes'][0] == 'bed' and \
        len(ds.metainfo['classes']) == 13
    out = ds[0]
    s = out['data_samples']
    assert out['inputs'].shape == (3, 480, 640)
    depth = s.gt_depth.data[0].numpy()
    # in-painted labelled depth: every pixel valid, 0.7..10 m, mm / 1000
    assert s.gt_depth_valid.data.all()
    assert 0.5 < depth.min() and depth.max() < 10.0
    assert s.metainfo['protocol'] == 'nyu'
    assert s.metainfo['depth_scale'] == 1000.0
    assert s.metainfo['ori_shape'] == (480, 640)
    assert s.metainfo['intrinsics'][0][0] == pytest.approx(518.8579)
    seg = s.gt_sem_seg.data[0].numpy()
    # 0 (void) -> 255, classes 1..13 -> 0..12
    assert set(np.unique(seg)) <= set(range(13)) | {255}
    assert (seg != 255).mean() > 0.5
    # the labels line up with the image: walls (id 11) and floor (4) exist
    assert {11, 4} <= set(np.unique(seg).tolist())


def test_nyu_folder_scan_densedepth_layout(realdata_root):
    ds = NYUv2Dataset(data_root=osp.join(realdata_root, 'nyu_depth_v2',
                                         'nyu2_test'), lazy_init=True)
    ds.full_init()
    assert len(ds) == 50
    info = ds.get_data_info(0)
    assert info['img_path'].endswith('00000_colors.png')
    assert info['depth_path'].endswith('00000_depth.png')


def test_nyu_sync_raw_depth_has_holes(realdata_root, tmp_path):
    root = osp.join(realdata_root, 'nyu_depth_v2', 'metric3d_nyu_demo')
    split = tmp_path / 'sync.txt'
    split.write_text('rgb/rgb_00000.jpg depth/sync_depth_00000.png\n')
    ds = NYUv2Dataset(data_root=root, ann_file=str(split),
                      pipeline=[dict(type='LoadImage'),
                                dict(type='LoadDepth'),
                                dict(type='NormalizeDepth'),
                                dict(type='PackDenseInputs')])
    s = ds[0]['data_samples']
    valid = s.gt_depth_valid.data[0]
    frac = valid.float().mean().item()
    assert 0.4 < frac < 0.95  # raw Kinect depth, ~70 % valid
    assert (s.gt_depth.data[0][~valid] == 0).all()
    norm = s.gt_depth_norm.data[0]
    assert norm[valid].min() == -1 and norm[valid].max() == 1
    assert np.isfinite(norm.numpy()).all()


def test_kitti_eigen_lines_kb_crop_and_scale(realdata_root, tmp_path):
    root = osp.join(realdata_root, 'kitti')
    split = tmp_path / 'eigen_test_files_with_gt.txt'
    split.write_text(
        'rgb/0000000005.png depth/0000000005.png 707.0493\n'
        'rgb/0000000050.png None 707.0493\n'          # no GT: skipped
        'rgb/0000000100.png depth/0000000100.png 707.0493\n')
    ds = KITTIDataset(data_root=root, ann_file=str(split),
                      data_prefix=dict(img_path=root, depth_path=root),
                      pipeline=[dict(type='LoadImage'),
                                dict(type='LoadDepth'), dict(type='KBCrop'),
                                dict(type='PackDenseInputs')])
    assert len(ds) == 2
    out = ds[0]
    s = out['data_samples']
    assert out['inputs'].shape == (3, 352, 1216)
    assert s.metainfo['ori_shape'] == (352, 1216)
    assert s.metainfo['kb_crop'] == (375 - 352, (1242 - 1216) // 2)
    assert s.metainfo['protocol'] == 'kitti'
    depth = s.gt_depth.data[0]
    valid = s.gt_depth_valid.data[0]
    assert 0.1 < valid.float().mean().item() < 0.35   # semi-dense LiDAR
    assert depth[valid].max() < 80 and depth.max() > 40  # /256 metres
    garg = KITTIDataset(data_root=root, ann_file=str(split),
                        eval_crop='garg', lazy_init=True)
    assert garg.protocol == 'marigold_kitti_garg'
    with pytest.raises(ValueError, match='eval_crop'):
        KITTIDataset(data_root=root, ann_file=str(split), eval_crop='x')


def test_tum_and_sun_depth_encodings(realdata_root, tmp_path):
    tum = osp.join(realdata_root, 'tum_rgbd')
    split = tmp_path / 'tum.txt'
    split.write_text('TUM_color.png TUM_depth.png\n')
    ds = BaseDenseDataset(data_root=tum, ann_file=str(split),
                          depth_scale=5000.0, depth_range=(1e-3, 10),
                          pipeline=[dict(type='LoadImage'),
                                    dict(type='LoadDepth')])
    r = ds[0]
    d = r['gt_depth'][r['gt_depth_valid']]
    # README: 1.5..7.3 m (1st..99th percentile), ~81 % valid; /5000
    p1, p99 = np.percentile(d, [1, 99])
    assert 1.4 < p1 < 1.6 and 7.2 < p99 < 7.5
    assert 0.78 < r['gt_depth_valid'].mean() < 0.84

    sun = osp.join(realdata_root, 'sun_rgbd')
    split = tmp_path / 'sun.txt'
    split.write_text('SUN_color.jpg SUN_depth.png\n')
    pipe = [dict(type='LoadImage'),
            dict(type='LoadDepth', depth_scale=1000, bit_rotation=True)]
    r = BaseDenseDataset(data_root=sun, ann_file=str(split),
                         pipeline=pipe)[0]
    d = r['gt_depth'][r['gt_depth_valid']]
    assert 1.0 < d.min() and d.max() < 10.5
    assert 0.7 < r['gt_depth_valid'].mean() < 0.9


def test_missing_split_file_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match='split file'):
        NYUv2Dataset(data_root=str(tmp_path), ann_file='nope.txt')
    split = tmp_path / 's.txt'
    split.write_text('a.png b.png\n')
    with pytest.raises(FileNotFoundError, match='a.png'):
        NYUv2Dataset(data_root=str(tmp_path), ann_file=str(split),
                     check_files=True)
