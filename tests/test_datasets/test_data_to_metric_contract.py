"""End to end over the interfaces.md contract with real NYU/KITTI frames:
dataset -> test pipeline -> DenseDataPreprocessor -> (stand-in model at
1/8 resolution) -> restore_to_original -> DepthMetric(protocol='auto')."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate

from unidense.registry import DATASETS, METRICS, MODELS
from unidense.structures import restore_to_original

pytestmark = pytest.mark.realdata


def _predict_affine(batch_out, scale=0.5, shift=0.3):
    """A stand-in estimator: the GT depth, affinely distorted, predicted
    on the padded network grid at 1/8 resolution, then restored."""
    samples = batch_out['data_samples']
    for s in samples:
        gt = s.gt_depth.data.float()
        meta = s.metainfo
        pad = meta['padding']
        h, w = meta['pad_shape']
        # place GT on the network grid as the network would see it
        grid = F.pad(gt, (pad[2], pad[3], pad[0], pad[1]))
        assert grid.shape[-2:] == (h, w)
        latent = F.avg_pool2d(grid[None], 8)[0]
        pred = restore_to_original(latent * scale + shift, meta)
        s.pred_depth = pred
    return samples


def _run(ds, protocol):
    pre = MODELS.build(dict(type='DenseDataPreprocessor'))
    metric = METRICS.build(dict(type='DepthMetric', protocol='auto'))
    for i in range(len(ds)):
        out = pre(pseudo_collate([ds[i]]))
        assert out['inputs'].shape[-2] % 8 == 0
        samples = _predict_affine(out)
        assert samples[0].pred_depth.data.shape == \
            samples[0].gt_depth.data.shape
        metric.process({}, [s.to_dict() for s in samples])
    res = metric.compute_metrics(metric.results)
    assert res['protocol'] == f'marigold_{protocol}'
    return res


def test_nyu_contract(realdata_root, tmp_path):
    root = osp.join(realdata_root, 'nyu_depth_v2')
    split = tmp_path / 'test.txt'
    split.write_text('nyu2_test/00000_colors.png nyu2_test/00000_depth.png\n'
                     'nyu2_test/00001_colors.png nyu2_test/00001_depth.png\n')
    cfg = dict(type='NYUv2Dataset', data_root=root, ann_file=str(split),
               test_mode=True,
               pipeline=[dict(type='LoadImage'), dict(type='LoadDepth'),
                         dict(type='PadToMultiple', size_divisor=64,
                              keep_gt_at_ori=True),
                         dict(type='PackDenseInputs')])
    res = _run(DATASETS.build(cfg), 'nyu')
    # least squares undoes the affine map; blur from 1/8 costs a little
    assert res['abs_rel'] < 2.0 and res['delta1'] > 99.0   # measured 0.5, 100


def test_kitti_contract(realdata_root, tmp_path):
    root = osp.join(realdata_root, 'kitti')
    split = tmp_path / 'eigen.txt'
    split.write_text('rgb/0000000005.png depth/0000000005.png 707.0493\n')
    cfg = dict(type='KITTIDataset', data_root=root, ann_file=str(split),
               test_mode=True,
               pipeline=[dict(type='LoadImage'), dict(type='LoadDepth'),
                         dict(type='KBCrop'),
                         dict(type='Resize', scale_factor=0.5,
                              keep_gt_at_ori=True),
                         dict(type='PadToMultiple', size_divisor=16,
                              keep_gt_at_ori=True),
                         dict(type='PackDenseInputs')])
    ds = DATASETS.build(cfg)
    s = ds[0]['data_samples']
    assert s.gt_depth.data.shape == (1, 352, 1216)
    assert ds[0]['inputs'].shape == (3, 176, 608)
    pre = MODELS.build(dict(type='DenseDataPreprocessor'))
    out = pre(pseudo_collate([ds[0]]))
    meta = out['data_samples'][0].metainfo
    assert meta['scale_factor'] == (0.5, 0.5)
    # a prediction on the (resized) network grid comes back at ori_shape
    pred = torch.ones(1, 176 // 8, 608 // 8)
    back = restore_to_original(pred, meta)
    assert back.shape == (1, 352, 1216)
