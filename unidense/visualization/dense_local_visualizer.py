"""Panels of an image with its ground-truth and predicted dense maps."""
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmengine.visualization import Visualizer

from unidense.registry import VISUALIZERS
from .colorize import colorize_depth, colorize_labels, colorize_normal
from .panel import make_panel, write_png

__all__ = ['DenseLocalVisualizer', 'dense_sample_columns', 'to_rgb_uint8']

# (field suffix, kind) in panel order; for each, gt_* then pred_* is drawn.
_FIELDS = (('depth', 'depth'), ('depth_norm', 'depth_norm'),
           ('normal', 'normal'), ('sem_seg', 'labels'),
           ('parsing', 'labels'), ('saliency', 'saliency'))


def _field(sample, name: str):
    """``sample.name.data`` for a DenseDataSample, ``sample[name]['data']``
    for its dict form; ``None`` when absent."""
    if isinstance(sample, dict):
        value = sample.get(name)
    else:
        value = getattr(sample, name, None)
    if value is None:
        return None
    data = value['data'] if isinstance(value, dict) else getattr(
        value, 'data', value)
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu()
        data = data.float() if data.is_floating_point() else data
        data = data.numpy()
    return np.asarray(data)


def to_rgb_uint8(image) -> np.ndarray:
    """Accept (H, W, 3) or (3, H, W), uint8 or float in [0, 1] / [-1, 1];
    return (H, W, 3) uint8 RGB."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[0] == 3 and img.shape[-1] != 3:
        img = img.transpose(1, 2, 0)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'expected an RGB image (H, W, 3) or (3, H, W), got '
                         f'{img.shape}')
    if img.dtype != np.uint8:
        img = img.astype(np.float64)
        if img.min() < 0:
            img = (img + 1.0) / 2.0
        if img.max() <= 1.0:
            img = img * 255.0
        img = np.clip(img.round(), 0, 255).astype(np.uint8)
    return img


def dense_sample_columns(data_sample, image=None, draw_gt: bool = True,
                         draw_pred: bool = True, depth_cmap: str = 'Spectral',
                         palette: Optional[np.ndarray] = None
                         ) -> Tuple[List[np.ndarray], List[str]]:
    """Colour every map present on a sample.

    Args:
        data_sample: a DenseDataSample or its ``to_dict()`` form.
        image: the RGB image (first column) or ``None``.

    Returns:
        (images, titles): 'RGB', then 'gt depth', 'pred depth',
        'gt depth_norm' (fixed [-1, 1] range), 'gt normal', ... for each
        field present. Depth maps get their own 2-98 % range
        (predictions may be affine-invariant); the ground-truth valid mask
        blacks out invalid ground truth.
    """
    images, titles = [], []
    if image is not None:
        images.append(to_rgb_uint8(image))
        titles.append('RGB')
    prefixes = [p for p, on in (('gt', draw_gt), ('pred', draw_pred)) if on]
    for suffix, kind in _FIELDS:
        for prefix in prefixes:
            data = _field(data_sample, f'{prefix}_{suffix}')
            if data is None:
                continue
            if kind == 'depth':
                mask = _field(data_sample, 'gt_depth_valid') \
                    if prefix == 'gt' else None
                if mask is not None and mask.shape[-2:] != data.shape[-2:]:
                    mask = None
                if mask is not None:
                    mask = mask.astype(bool) & (data > 0)
                img = colorize_depth(data, mask=mask, cmap=depth_cmap)
            elif kind == 'depth_norm':
                # The diffusion target in [-1, 1]: a fixed range shows what
                # the normalisation did.
                img = colorize_depth(data, mask=np.isfinite(data), vmin=-1.0,
                                     vmax=1.0, cmap=depth_cmap)
            elif kind == 'normal':
                img = colorize_normal(data)
            elif kind == 'labels':
                img = colorize_labels(data, palette=palette)
            else:
                img = colorize_depth(data, mask=np.isfinite(data), vmin=0.0,
                                     vmax=1.0, cmap='gray')
            images.append(img)
            titles.append(f'{prefix} {suffix}')
    return images, titles


@VISUALIZERS.register_module()
class DenseLocalVisualizer(Visualizer):
    """Draw RGB | gt | pred panels for every dense field of a sample.

    ``add_datasample`` returns the panel ((h, W, 3) uint8 RGB), writes it to
    ``out_file`` as PNG when given, or else hands it to the visualizer's
    backends with ``add_image`` (e.g. LocalVisBackend, TensorBoard).

    Args:
        depth_cmap: matplotlib colour map for depth ('Spectral' or 'turbo').
        palette: (K, 3) uint8 label colours; default a fixed palette.
        Other arguments as mmengine's ``Visualizer``.
    """

    def __init__(self, name: str = 'visualizer', image=None,
                 vis_backends=None, save_dir=None,
                 depth_cmap: str = 'Spectral',
                 palette: Optional[np.ndarray] = None, **kwargs):
        super().__init__(name=name, image=image, vis_backends=vis_backends,
                         save_dir=save_dir, **kwargs)
        self.depth_cmap = depth_cmap
        self.palette = palette

    def add_datasample(self, name: str, image, data_sample=None,
                       draw_gt: bool = True, draw_pred: bool = True,
                       show: bool = False, wait_time: float = 0,
                       out_file: Optional[str] = None, step: int = 0
                       ) -> np.ndarray:
        """Draw one sample; see the class docstring."""
        images, titles = dense_sample_columns(
            data_sample, image, draw_gt=draw_gt, draw_pred=draw_pred,
            depth_cmap=self.depth_cmap, palette=self.palette)
        if not images:
            raise ValueError(f'DenseLocalVisualizer: nothing to draw for '
                             f'{name!r} (no image and no dense field)')
        panel = make_panel(images, titles)
        if show:
            self.show(panel, win_name=name, wait_time=wait_time)
        if out_file is not None:
            write_png(out_file, panel)
        else:
            self.add_image(name, panel, step)
        return panel
