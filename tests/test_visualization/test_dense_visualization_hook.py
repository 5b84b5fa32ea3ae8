"""DenseVisualizationHook and DenseLocalVisualizer on a real NYU frame."""
import os
import os.path as osp
from types import SimpleNamespace
from unittest import mock

import cv2
import numpy as np
import torch

from unidense.registry import HOOKS, VISUALIZERS
from unidense.structures import DenseDataSample

NYU = osp.join(osp.dirname(__file__), '..', '..', '..', 'shared', 'data',
               'realdata', 'nyu_depth_v2')


def _nyu_sample():
    img_path = osp.abspath(osp.join(NYU, 'nyu2_test', '00000_colors.png'))
    depth = cv2.imread(osp.join(NYU, 'nyu2_test', '00000_depth.png'),
                       cv2.IMREAD_UNCHANGED).astype(np.float32) / 1000.0
    labels = cv2.imread(osp.join(NYU, 'test_labels_13',
                                 'new_nyu_class13_0001.png'),
                        cv2.IMREAD_UNCHANGED).astype(np.int64)
    s = DenseDataSample(metainfo=dict(img_path=img_path,
                                      ori_shape=depth.shape))
    s.gt_depth = torch.from_numpy(depth)[None]
    s.pred_depth = torch.from_numpy(depth * 0.5 + 0.2)[None]
    s.gt_sem_seg = torch.from_numpy(np.where(labels == 0, 255, labels - 1))
    return s


def _runner(tmp_path):
    return SimpleNamespace(log_dir=str(tmp_path), iter=7,
                           visualizer=mock.MagicMock())


def test_test_iter_writes_one_panel_per_sample(tmp_path):
    hook = HOOKS.build(dict(type='DenseVisualizationHook', draw=True,
                            show_dir='vis'))
    runner = _runner(tmp_path)
    hook.before_test(runner)
    sample = _nyu_sample()
    no_path = DenseDataSample()
    no_path.gt_depth = torch.rand(1, 6, 8) + 1
    batch = dict(inputs=[torch.zeros(3, 6, 8, dtype=torch.uint8)] * 2)
    hook.after_test_iter(runner, 0, batch, [sample, no_path])
    hook.after_test_iter(runner, 1, dict(inputs=[None]), [sample])
    files = sorted(os.listdir(tmp_path / 'vis'))
    assert files == ['000000_1.png', '00000_colors.png',
                     '00000_colors_1.png']
    panel = cv2.imread(str(tmp_path / 'vis' / '00000_colors.png'))
    # RGB | gt depth | pred depth | gt sem_seg, each 640 wide at 480 high.
    assert panel.shape == (22 + 480, 4 * 640 + 3 * 4, 3)
    rgb = cv2.imread(sample.img_path)
    np.testing.assert_array_equal(panel[22:, :640], rgb)
    depth_col = panel[22:, 644:1284]
    assert len(np.unique(depth_col.reshape(-1, 3), axis=0)) > 100
    runner.visualizer.add_image.assert_not_called()


def test_no_drawing_unless_asked_and_val_goes_to_visualizer(tmp_path):
    hook = HOOKS.build(dict(type='DenseVisualizationHook', show_dir='vis'))
    runner = _runner(tmp_path)
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, {}, [_nyu_sample()])
    assert not osp.exists(tmp_path / 'vis')
    hook = HOOKS.build(dict(type='DenseVisualizationHook', draw=True,
                            interval=2))
    hook.after_val_iter(runner, 0, {}, [_nyu_sample()])
    runner.visualizer.add_image.assert_not_called()
    hook.after_val_iter(runner, 1, {}, [_nyu_sample()])
    name, panel = runner.visualizer.add_image.call_args[0][:2]
    assert name == 'val_1' and panel.shape[0] == 22 + 480
    assert runner.visualizer.add_image.call_args[1]['step'] == 7


def test_dense_local_visualizer_add_datasample(tmp_path):
    vis = VISUALIZERS.build(dict(type='DenseLocalVisualizer',
                                 name='h3_dense_vis', depth_cmap='turbo'))
    sample = _nyu_sample()
    out = str(tmp_path / 'p.png')
    panel = vis.add_datasample('x', cv2.imread(sample.img_path)[..., ::-1],
                               sample, draw_gt=False, out_file=out)
    assert osp.isfile(out)
    assert panel.shape[1] == 2 * 640 + 4  # RGB | pred depth


def test_outputs_that_are_not_samples_are_ignored(tmp_path):
    hook = HOOKS.build(dict(type='DenseVisualizationHook', draw=True,
                            show_dir=str(tmp_path / 'abs')))
    runner = _runner(tmp_path)
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, {}, [torch.zeros(3)])
    assert not osp.exists(tmp_path / 'abs')


def test_val_panels_reach_the_work_dir_without_tensorboard(tmp_path):
    """The default runtime's backends: validation panels land as PNGs in
    the run's vis_data folder; the TensorBoard backend stays silent when
    tensorboard is not installed (and forwards when it is)."""
    from mmengine.registry import DefaultScope
    from mmengine.visualization import Visualizer

    from unidense.visualization import vis_backends
    with DefaultScope.overwrite_default_scope('unidense'):
        vis = Visualizer(
            name='val_panels_vis', save_dir=str(tmp_path),
            vis_backends=[dict(type='LocalVisBackend'),
                          dict(type='OptionalTensorboardVisBackend')])
    runner = SimpleNamespace(log_dir=str(tmp_path), iter=120, visualizer=vis)
    hook = HOOKS.build(dict(type='DenseVisualizationHook', val_panels=2))
    with mock.patch.object(vis_backends, 'tensorboard_available',
                           return_value=False):
        for batch_idx in range(4):
            hook.after_val_iter(runner, batch_idx, {}, [_nyu_sample()])
    files = sorted(os.listdir(tmp_path / 'vis_data' / 'vis_image'))
    assert files == ['val_0_120.png', 'val_1_120.png']
    tb = vis._vis_backends['OptionalTensorboardVisBackend']
    assert tb._inner is None and tb.experiment is None
    inner = mock.MagicMock()
    with mock.patch.object(vis_backends, 'TensorboardVisBackend',
                           return_value=inner), \
            mock.patch.object(vis_backends, 'tensorboard_available',
                              return_value=True):
        tb.add_scalar('loss', 0.5, step=3)
    inner.add_scalar.assert_called_once_with('loss', 0.5, 3)
