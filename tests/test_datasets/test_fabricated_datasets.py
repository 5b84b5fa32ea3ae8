"""Datasets without shipped samples: a tiny tree in the official layout is
fabricated in tmp_path and read through the dataset classes."""
import json
import os

import cv2
import numpy as np
import pytest

from unidense.registry import DATASETS

RNG = np.random.default_rng(0)


def _img(path, h=8, w=12, ext_img=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img = RNG.integers(0, 255, (h, w, 3), dtype=np.uint8)
    cv2.imwrite(str(path), img)
    return img


def _png16(path, arr):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cv2.imwrite(str(path), arr.astype(np.uint16))


def _build(cfg):
    return DATASETS.build(cfg)


def test_eth3d_raw_float_depth(tmp_path):
    root = tmp_path / 'eth3d'
    rgb = 'rgb/courtyard/images/dslr_images/DSC_0001.JPG'
    dep = 'depth/courtyard/ground_truth_masked_depth/dslr_images/DSC_0001.JPG'
    _img(root / rgb, 6, 9)
    d = np.full((6, 9), 4.5, np.float32)
    d[0] = np.inf
    os.makedirs((root / dep).parent)
    d.tofile(root / dep)
    (root / 'eth3d_filename_list.txt').write_text(f'{rgb} {dep}\n')
    ds = _build(dict(type='ETH3DDataset', data_root=str(root),
                     ann_file='eth3d_filename_list.txt',
                     pipeline=[dict(type='LoadImage'),
                               dict(type='LoadDepth',
                                    file_format='raw_float32'),
                               dict(type='PackDenseInputs')]))
    s = ds[0]['data_samples']
    assert s.metainfo['protocol'] == 'eth3d'
    assert not s.gt_depth_valid.data[0, 0].any()
    assert s.gt_depth_valid.data[0, 1:].all()
    assert float(s.gt_depth.data[0, 3, 3]) == pytest.approx(4.5)


def test_scannet_mm_png(tmp_path):
    root = tmp_path / 'scannet'
    _img(root / 'scene0000_00/color/000000.jpg')
    _png16(root / 'scene0000_00/depth/000000.png',
           np.full((8, 12), 2500))
    (root / 'list.txt').write_text(
        'scene0000_00/color/000000.jpg scene0000_00/depth/000000.png\n')
    ds = _build(dict(type='ScanNetDataset', data_root=str(root),
                     ann_file='list.txt',
                     pipeline=[dict(type='LoadImage'),
                               dict(type='LoadDepth')]))
    r = ds[0]
    assert r['protocol'] == 'scannet' and r['depth_range'] == (1e-3, 10.0)
    assert np.allclose(r['gt_depth'], 2.5)


def test_diode_with_mask_scan_and_split(tmp_path):
    root = tmp_path / 'diode' / 'val'
    base = root / 'indoors/scene_00019/scan_00183/00019_00183_indoors_000_010'
    _img(str(base) + '.png', 6, 8)
    depth = np.full((6, 8, 1), 3.0, np.float32)
    depth[0, 0] = 0.3          # below DIODE's 0.6 m: invalid by range
    np.save(str(base) + '_depth.npy', depth)
    mask = np.ones((6, 8), np.float32)
    mask[5, 7] = 0
    np.save(str(base) + '_depth_mask.npy', mask)
    pipe = [dict(type='LoadImage'), dict(type='LoadDepth'),
            dict(type='LoadDepthMask')]
    ds = _build(dict(type='DIODEDataset', data_root=str(root),
                     pipeline=pipe))              # folder scan
    assert len(ds) == 1
    valid = ds[0]['gt_depth_valid']
    assert valid.sum() == 6 * 8 - 2
    assert not valid[0, 0] and not valid[5, 7]
    rel = os.path.relpath(str(base), root)
    (root / 'diode_val_all.txt').write_text(
        f'{rel}.png {rel}_depth.npy {rel}_depth_mask.npy\n')
    ds = _build(dict(type='DIODEDataset', data_root=str(root),
                     ann_file='diode_val_all.txt', pipeline=pipe))
    assert ds[0]['gt_depth_valid'].sum() == 6 * 8 - 2
    assert ds[0]['protocol'] == 'diode'


def test_hypersim_and_vkitti2(tmp_path):
    root = tmp_path / 'hypersim'
    _img(root / 'train/ai_001_001/rgb_cam_00_fr0000.png')
    dep = np.full((8, 12), 4000)
    dep[0, 0] = 0                  # invalid entity -> 0
    _png16(root / 'train/ai_001_001/depth_plane_cam_00_fr0000.png', dep)
    (root / 'filename_list_train_filtered.txt').write_text(
        'train/ai_001_001/rgb_cam_00_fr0000.png '
        'train/ai_001_001/depth_plane_cam_00_fr0000.png\n')
    ds = _build(dict(type='HypersimDataset', data_root=str(root),
                     ann_file='filename_list_train_filtered.txt',
                     pipeline=[dict(type='LoadImage'),
                               dict(type='LoadDepth'),
                               dict(type='NormalizeDepth')]))
    r = ds[0]
    assert r['gt_depth'][1, 1] == pytest.approx(4.0)
    assert not r['gt_depth_valid'][0, 0] and r['gt_depth_valid'].sum() == 95
    assert r['protocol'] == 'hypersim'

    root = tmp_path / 'vkitti2'
    _img(root / 'Scene01/clone/frames/rgb/Camera_0/rgb_00000.jpg', 8, 12)
    dep = np.full((8, 12), 1500)
    dep[0] = 65535                     # sky: 655.35 m, outside (0, 80)
    _png16(root / 'Scene01/clone/frames/depth/Camera_0/depth_00000.png', dep)
    (root / 'vkitti_train.txt').write_text(
        'Scene01/clone/frames/rgb/Camera_0/rgb_00000.jpg\n')
    ds = _build(dict(type='VKITTI2Dataset', data_root=str(root),
                     ann_file='vkitti_train.txt',
                     pipeline=[dict(type='LoadImage'),
                               dict(type='LoadDepth')]))
    r = ds[0]
    assert r['depth_path'].endswith('depth/Camera_0/depth_00000.png')
    assert r['gt_depth'][1, 1] == pytest.approx(15.0)     # cm / 100
    assert not r['gt_depth_valid'][0].any() and r['gt_depth_valid'][1:].all()


def _nyud_mt(tmp_path):
    root = tmp_path / 'NYUD_MT'
    for sub in ('depth', 'normals'):
        os.makedirs(root / sub)
    for sid in ('0001', '0002'):
        _img(root / f'images/{sid}.png', 6, 8)
        _png16(root / f'segmentation/{sid}.png',
               np.tile(np.arange(8), (6, 1)))
        np.save(root / f'depth/{sid}.npy', np.full((6, 8), 2.0, np.float32))
        nrm = np.zeros((6, 8, 3), np.uint8)      # RGB: n = (0, 0, 1)
        nrm[..., 2] = 255
        nrm[..., :2] = 128
        cv2.imwrite(str(root / f'normals/{sid}.png'),
                    cv2.cvtColor(nrm, cv2.COLOR_RGB2BGR))
    os.makedirs(root / 'gt_sets')
    (root / 'gt_sets/train.txt').write_text('0001\n')
    (root / 'gt_sets/val.txt').write_text('0001\n0002\n')
    return root


def test_nyud_mt_multi_task_fields(tmp_path):
    root = _nyud_mt(tmp_path)
    pipe = [dict(type='LoadImage'), dict(type='LoadDepth'),
            dict(type='LoadNormal'), dict(type='LoadSemSeg'),
            dict(type='PadToMultiple', size_divisor=None, size=(8, 12)),
            dict(type='PackDenseInputs')]
    ds = _build(dict(type='NYUDMTDataset', data_root=str(root),
                     test_mode=True, pipeline=pipe))
    assert len(ds) == 2
    assert len(_build(dict(type='NYUDMTDataset', data_root=str(root)))) == 1
    s = ds[1]['data_samples']
    seg = s.gt_sem_seg.data[0]
    assert seg[0, :6].tolist() == [255, 0, 1, 2, 3, 4]   # 0 void, k -> k-1
    assert (seg[6:] == 255).all() and (seg[:, 8:] == 255).all()  # padding
    assert s.gt_normal.data.shape == (3, 8, 12)
    assert float(s.gt_normal.data[2, 0, 0]) == pytest.approx(1, abs=0.01)
    assert s.metainfo['padding'] == (0, 2, 0, 4)
    assert len(ds.metainfo['classes']) == 40


def test_pascal_context_mt_tasks_and_missing_parts(tmp_path):
    root = tmp_path / 'PASCAL_MT'
    for sid in ('2008_000002', '2008_000003'):
        _img(root / f'JPEGImages/{sid}.jpg', 6, 8)
        lab = np.zeros((6, 8), np.uint8)
        lab[:, 4:] = 15
        os.makedirs(root / 'semseg/pascal-context', exist_ok=True)
        cv2.imwrite(str(root / f'semseg/pascal-context/{sid}.png'), lab)
        os.makedirs(root / 'sal_distill', exist_ok=True)
        cv2.imwrite(str(root / f'sal_distill/{sid}.png'),
                    (lab > 0).astype(np.uint8) * 230)
        os.makedirs(root / 'normals_distill', exist_ok=True)
        cv2.imwrite(str(root / f'normals_distill/{sid}.png'),
                    np.full((6, 8, 3), 128, np.uint8))
    os.makedirs(root / 'human_parts')
    cv2.imwrite(str(root / 'human_parts/2008_000002.png'),
                np.full((6, 8), 2, np.uint8))
    os.makedirs(root / 'ImageSets/Context')
    (root / 'ImageSets/Context/val.txt').write_text(
        '2008_000002\n2008_000003\n')
    pipe = [dict(type='LoadImage'), dict(type='LoadSemSeg'),
            dict(type='LoadSemSeg', key='gt_parsing',
                 path_key='parsing_path', fill_missing=True),
            dict(type='LoadSaliency'), dict(type='PackDenseInputs')]
    ds = _build(dict(type='PascalContextMTDataset', data_root=str(root),
                     test_mode=True, tasks=('semseg', 'human_parts', 'sal'),
                     pipeline=pipe))
    a, b = ds[0]['data_samples'], ds[1]['data_samples']
    assert a.gt_sem_seg.data[0, 0].tolist() == [0] * 4 + [15] * 4
    assert (a.gt_parsing.data == 2).all()
    assert (b.gt_parsing.data == 255).all()       # no person: ignore
    assert a.gt_saliency.data[0, 0].tolist() == [0] * 4 + [1] * 4
    assert 'normal_path' not in ds.get_data_info(0)
    with pytest.raises(ValueError, match='unknown tasks'):
        _build(dict(type='PascalContextMTDataset', data_root=str(root),
                    tasks=('edges',)))


def test_ade20k_folder_scan(tmp_path):
    root = tmp_path / 'ade/ADEChallengeData2016'
    _img(root / 'images/validation/ADE_val_00000001.jpg', 6, 8)
    lab = np.zeros((6, 8), np.uint8)
    lab[:, 4:] = 150
    os.makedirs(root / 'annotations/validation')
    cv2.imwrite(str(root / 'annotations/validation/ADE_val_00000001.png'),
                lab)
    ds = _build(dict(type='ADE20KDataset', data_root=str(root),
                     data_prefix=dict(img_path='images/validation',
                                      seg_map_path='annotations/validation'),
                     pipeline=[dict(type='LoadImage'),
                               dict(type='LoadSemSeg')]))
    r = ds[0]
    assert r['gt_sem_seg'][0].tolist() == [255] * 4 + [149] * 4
    assert len(ds.metainfo['classes']) == 150


def test_megadepth_h5(tmp_path):
    h5py = pytest.importorskip('h5py')
    root = tmp_path / 'MegaDepth_v1'
    _img(root / '0001/dense0/imgs/a.jpg', 6, 8)
    os.makedirs(root / '0001/dense0/depths')
    d = np.full((6, 8), 0.7, np.float32)
    d[0, 0] = -1.0            # ordinal-only marker: invalid
    with h5py.File(root / '0001/dense0/depths/a.h5', 'w') as f:
        f['depth'] = d
    ds = _build(dict(type='MegaDepthDataset', data_root=str(root),
                     pipeline=[dict(type='LoadImage'),
                               dict(type='LoadDepth', file_format='h5')]))
    r = ds[0]
    assert r['gt_depth'][1, 1] == pytest.approx(0.7)
    assert r['gt_depth'][0, 0] == 0 and not r['gt_depth_valid'][0, 0]
    assert r['protocol'] == 'megadepth'


def test_image_caption_jsonl_and_folder_filters(tmp_path):
    root = tmp_path / 'coyo'
    for name in ('a', 'b', 'c', 'd'):
        _img(root / f'{name}.jpg', 4, 4)
    records = [
        dict(image='a.jpg', caption='a cat', width=640, height=512,
             pwatermark=0.1, aesthetic_score=5.5),
        dict(image='b.jpg', caption='small', width=640, height=300,
             pwatermark=0.1, aesthetic_score=6.0),
        dict(image='c.jpg', caption='watermarked', width=800, height=800,
             pwatermark=0.9, aesthetic_score=6.0),
        dict(image='d.jpg', caption='ugly', width=800, height=800,
             pwatermark=0.1, aesthetic_score=4.0),
        dict(image='a.jpg', caption='', width=800, height=800),
    ]
    (root / 'meta.jsonl').write_text(
        '\n'.join(json.dumps(r) for r in records) + '\n')
    cfg = dict(type='ImageCaptionDataset', data_root=str(root),
               ann_file='meta.jsonl', min_side=512, max_watermark=0.5,
               min_aesthetic=5.0, pipeline=[dict(type='LoadImage'),
                                            dict(type='PackDenseInputs')])
    ds = _build(cfg)
    assert len(ds) == 1
    assert ds[0]['data_samples'].caption == 'a cat'
    # folder layout: same-stem .txt captions and optional .json metadata
    (root / 'a.txt').write_text('a cat on a mat\n')
    (root / 'a.json').write_text(json.dumps(dict(width=640, height=600)))
    (root / 'b.txt').write_text('a dog\n')        # 4x4 file: too small
    (root / 'c.txt').write_text('a bird\n')
    (root / 'c.json').write_text(json.dumps(dict(width=900, height=900)))
    ds = _build(dict(type='ImageCaptionDataset', data_root=str(root),
                     min_side=512, min_aesthetic=5.0))
    names = [os.path.basename(ds.get_data_info(i)['img_path'])
             for i in range(len(ds))]
    assert names == ['a.jpg', 'c.jpg']    # d.jpg has no caption
    assert ds.get_data_info(0)['caption'] == 'a cat on a mat'
    with pytest.warns(UserWarning, match='no samples'):
        ds = _build(dict(type='ImageCaptionDataset', data_root=str(root),
                         min_side=512, min_aesthetic=5.0,
                         strict_filters=True))
    assert len(ds) == 0                   # no aesthetic score anywhere
    (root / 'bad.jsonl').write_text('{"image": "a.jpg", \n')
    with pytest.raises(ValueError, match='bad.jsonl:1'):
        _build(dict(type='ImageCaptionDataset', data_root=str(root),
                    ann_file='bad.jsonl'))
