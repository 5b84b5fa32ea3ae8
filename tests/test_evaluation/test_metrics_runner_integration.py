"""Metrics and the visualisation hook driven by mmengine's Runner test loop
on SyntheticScenes, with an oracle model (prediction = affine map of the
ground truth)."""
import os
import os.path as osp

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

from unidense.registry import MODELS


@MODELS.register_module(name='H3OracleDense', force=True)
class H3OracleDense(BaseModel):
    """Predicts 0.5 * gt_depth + 0.1 (affine-invariant), the true normals
    and the true labels."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        assert mode == 'predict'
        for s in data_samples:
            s.pred_depth = s.gt_depth.data * 0.5 + 0.1
            s.pred_normal = s.gt_normal.data.clone()
            s.pred_sem_seg = s.gt_sem_seg.data.clone()
        return data_samples


def test_runner_test_loop_metrics_and_panels(tmp_path):
    dataset = dict(type='SyntheticScenes', num_samples=3, img_size=(32, 40),
                   pipeline=[dict(type='PackDenseInputs')])
    runner = Runner(
        model=dict(type='H3OracleDense'),
        work_dir=str(tmp_path),
        test_dataloader=dict(batch_size=2, num_workers=0, dataset=dataset,
                             sampler=dict(type='DefaultSampler',
                                          shuffle=False)),
        test_cfg=dict(type='TestLoop'),
        test_evaluator=[dict(type='DepthMetric', protocol='auto'),
                        dict(type='NormalMetric'),
                        dict(type='IoUMetric')],
        default_hooks=dict(visualization=dict(
            type='DenseVisualizationHook', draw=True, show_dir='vis')),
        default_scope='unidense')
    metrics = runner.test()
    assert metrics['depth/protocol'] == 'synthetic_scenes'
    assert metrics['depth/num_images'] == 3
    assert metrics['depth/abs_rel'] / 100 < 1e-6
    assert metrics['depth/delta1'] == 100.0
    assert metrics['normal/mean'] == pytest.approx(0.0, abs=0.05)
    assert metrics['normal/a11.25'] == 100.0
    assert metrics['seg/mIoU'] == 100.0  # classes from dataset_meta
    vis = osp.join(runner.log_dir, 'vis')
    assert sorted(os.listdir(vis)) == ['000000_0.png', '000000_1.png',
                                       '000001_0.png']
