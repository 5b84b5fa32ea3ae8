"""Hook that draws predictions during validation and test."""
import os.path as osp
from typing import Optional, Sequence

import cv2
from mmengine.hooks import Hook

from unidense.registry import HOOKS
from unidense.visualization import (dense_sample_columns, make_panel,
                                    write_png)


@HOOKS.register_module()
class DenseVisualizationHook(Hook):
    """Draw RGB | gt | pred panels of dense predictions.

    - Validation: the first sample of each of the first ``val_panels``
      batches of every validation run (and, with ``draw``, of every
      ``interval``-th batch) goes to the runner's visualizer
      (``add_image``): the default runtime's backends write it under
      ``work_dir/<timestamp>/vis_data/vis_image/`` and, when TensorBoard is
      installed, to TensorBoard, so training shows its progress in
      pictures at a bounded cost.
    - Test: every sample of every ``interval``-th batch is written as one PNG
      to ``show_dir`` (``tools/test.py --show-dir DIR`` sets ``draw=True``
      and ``show_dir``). A relative ``show_dir`` is placed under the run's
      log folder ``work_dir/<timestamp>/``, as in mmsegmentation.

    The image is read from the sample's ``img_path`` (original resolution,
    where predictions are restored to); without a readable file, the
    batch's ``inputs`` are drawn instead.

    Args:
        draw: draw test panels and every ``interval``-th validation batch
            (off by default: drawing costs time).
        interval: draw every ``interval`` iterations.
        val_panels: validation panels drawn per validation run even when
            ``draw`` is off (0 = none).
        show_dir: folder for test panels; ``None`` sends test panels to the
            visualizer like validation ones.
        draw_gt, draw_pred: which maps to draw.
        show: also display each test panel in a window
            (``tools/test.py --show``); ``wait_time`` seconds per panel.
    """

    priority = 'NORMAL'

    def __init__(self, draw: bool = False, interval: int = 1,
                 show_dir: Optional[str] = None, draw_gt: bool = True,
                 draw_pred: bool = True, show: bool = False,
                 wait_time: float = 0., val_panels: int = 0):
        if interval < 1:
            raise ValueError(f'DenseVisualizationHook: interval must be >= 1,'
                             f' got {interval}')
        self.draw = draw
        self.interval = interval
        self.show_dir = show_dir
        self.draw_gt, self.draw_pred = draw_gt, draw_pred
        self.show, self.wait_time = show, wait_time
        self.val_panels = int(val_panels)
        self._out_dir = None
        self._used_names = set()

    def before_test(self, runner) -> None:
        if self.show_dir is not None:
            self._out_dir = self.show_dir if osp.isabs(self.show_dir) \
                else osp.join(runner.log_dir, self.show_dir)
        self._used_names = set()

    def _panel(self, data_batch, index: int, sample):
        if not (hasattr(sample, 'metainfo') or isinstance(sample, dict)):
            return None  # not a dense data sample: nothing to draw
        meta = sample.metainfo if hasattr(sample, 'metainfo') else sample
        image = None
        path = meta.get('img_path')
        if path and osp.isfile(path):
            bgr = cv2.imread(path, cv2.IMREAD_COLOR)
            if bgr is not None:
                image = bgr[..., ::-1]
        if image is None and isinstance(data_batch, dict):
            inputs = data_batch.get('inputs')
            if inputs is not None and len(inputs) > index:
                image = inputs[index]
        images, titles = dense_sample_columns(
            sample, image, draw_gt=self.draw_gt, draw_pred=self.draw_pred)
        return make_panel(images, titles) if images else None

    def _name(self, sample, batch_idx: int, index: int) -> str:
        meta = sample.metainfo if hasattr(sample, 'metainfo') else sample
        path = meta.get('img_path')
        stem = osp.splitext(osp.basename(path))[0] if path else \
            f'{batch_idx:06d}_{index}'
        name, k = stem, 1
        # Different folders may hold files of the same name (rgb.png).
        while name in self._used_names:
            name, k = f'{stem}_{k}', k + 1
        self._used_names.add(name)
        return name

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Optional[Sequence] = None) -> None:
        wanted = batch_idx < self.val_panels or (
            self.draw and self.every_n_inner_iters(batch_idx, self.interval))
        if not outputs or not wanted:
            return
        panel = self._panel(data_batch, 0, outputs[0])
        if panel is not None:
            runner.visualizer.add_image(f'val_{batch_idx}', panel,
                                        step=runner.iter)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        if not self.draw or not outputs or \
                not self.every_n_inner_iters(batch_idx, self.interval):
            return
        for i, sample in enumerate(outputs):
            panel = self._panel(data_batch, i, sample)
            if panel is None:
                continue
            name = self._name(sample, batch_idx, i)
            if self.show:
                runner.visualizer.show(panel, win_name=name,
                                       wait_time=self.wait_time)
            if self._out_dir is not None:
                write_png(osp.join(self._out_dir, f'{name}.png'), panel)
            else:
                runner.visualizer.add_image(name, panel, step=batch_idx)
