"""configs/_base_/datasets: every file parses and builds its datasets."""
import glob
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from unidense.registry import DATASETS

CFG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                   'datasets')
ALL = sorted(glob.glob(osp.join(CFG_DIR, '*.py')))


def test_expected_configs_exist():
    names = {osp.basename(p)[:-3] for p in ALL}
    assert {'synthetic_scenes', 'nyu_depth', 'kitti_depth', 'eth3d',
            'scannet', 'diode', 'hypersim_vkitti_mixed', 'nyud_mt',
            'pascal_context_mt', 'ade20k'} <= names


@pytest.mark.parametrize('path', ALL, ids=lambda p: osp.basename(p))
def test_config_datasets_build_lazily(path):
    """Types, arguments and pipelines are valid (no files are read)."""
    cfg = Config.fromfile(path)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if key not in cfg:
            continue
        ds_cfg = cfg[key]['dataset'].copy()
        subs = ds_cfg.get('datasets', [ds_cfg])
        for sub in subs:
            sub = sub.copy()
            sub['lazy_init'] = True
            ds = DATASETS.build(sub)
            assert len(ds.pipeline.transforms) > 0
            if 'data_root' in sub:
                assert sub['data_root'].startswith('data/')


def test_synthetic_config_dataloader_runs():
    init_default_scope('unidense')
    cfg = Config.fromfile(osp.join(CFG_DIR, 'synthetic_scenes.py'))
    dl_cfg = cfg.train_dataloader.copy()
    dl_cfg['dataset'] = dict(dl_cfg['dataset'], num_samples=4,
                             img_size=(16, 24))
    loader = Runner.build_dataloader(dl_cfg, seed=0)
    batch = next(iter(loader))
    assert len(batch['inputs']) == 2
    assert batch['inputs'][0].shape == (3, 16, 24)
    assert batch['data_samples'][0].gt_depth_norm.data.shape == (1, 16, 24)


def _fake_tree(tmp_path):
    rng = np.random.default_rng(0)
    hs = tmp_path / 'hypersim'
    lines = []
    for i in range(4):
        os.makedirs(hs / 'train/ai_001_001', exist_ok=True)
        rgb = f'train/ai_001_001/rgb_cam_00_fr{i:04d}.png'
        dep = f'train/ai_001_001/depth_plane_cam_00_fr{i:04d}.png'
        cv2.imwrite(str(hs / rgb), rng.integers(0, 255, (12, 16, 3),
                                                dtype=np.uint8))
        cv2.imwrite(str(hs / dep), rng.integers(500, 9000, (12, 16))
                    .astype(np.uint16))
        lines.append(f'{rgb} {dep}')
    (hs / 'filename_list_train_filtered.txt').write_text('\n'.join(lines))
    vk = tmp_path / 'vkitti2'
    lines = []
    for i in range(2):
        rgb = f'Scene01/clone/frames/rgb/Camera_0/rgb_{i:05d}.jpg'
        dep = f'Scene01/clone/frames/depth/Camera_0/depth_{i:05d}.png'
        os.makedirs(osp.dirname(vk / rgb), exist_ok=True)
        os.makedirs(osp.dirname(vk / dep), exist_ok=True)
        cv2.imwrite(str(vk / rgb), rng.integers(0, 255, (375, 1242, 3),
                                                dtype=np.uint8))
        cv2.imwrite(str(vk / dep), rng.integers(100, 8000, (375, 1242))
                    .astype(np.uint16))
        lines.append(rgb)
    (vk / 'vkitti_train.txt').write_text('\n'.join(lines))
    return hs, vk


def test_mixed_config_batches_never_mix_resolutions(tmp_path):
    init_default_scope('unidense')
    hs, vk = _fake_tree(tmp_path)
    cfg = Config.fromfile(osp.join(CFG_DIR, 'hypersim_vkitti_mixed.py'))
    dl = cfg.train_dataloader.copy()
    dl.update(num_workers=0, persistent_workers=False)
    dl['batch_sampler'] = dict(dl['batch_sampler'], seed=0, prob=[0.5, 0.5])
    datasets = [dict(d) for d in dl['dataset']['datasets']]
    datasets[0]['data_root'] = str(hs)
    datasets[1]['data_root'] = str(vk)
    dl['dataset'] = dict(dl['dataset'], datasets=datasets)
    loader = Runner.build_dataloader(dl, seed=0)
    shapes = set()
    it = iter(loader)
    for _ in range(6):
        batch = next(it)
        batch_shapes = {tuple(x.shape) for x in batch['inputs']}
        assert len(batch_shapes) == 1
        shapes |= batch_shapes
    assert shapes == {(3, 480, 640), (3, 352, 1216)}
