"""The one data-sample structure shared by datasets, models, metrics and tools."""
from typing import Optional

import torch
from mmengine.structures import BaseDataElement, PixelData

# Field name -> (number of channels or None for any, dtype kind). Used for the
# shape check in ``_set_pixel`` and documented in the class docstring.
DENSE_FIELDS = {
    'gt_depth': (1, 'float'), 'pred_depth': (1, 'float'),
    'gt_depth_norm': (1, 'float'),
    'gt_depth_valid': (1, 'bool'), 'pred_depth_uncertainty': (1, 'float'),
    'gt_normal': (3, 'float'), 'pred_normal': (3, 'float'),
    'gt_normal_valid': (1, 'bool'), 'pred_normal_uncertainty': (1, 'float'),
    'gt_sem_seg': (1, 'long'), 'pred_sem_seg': (1, 'long'),
    'seg_logits': (None, 'float'),
    'gt_parsing': (1, 'long'), 'pred_parsing': (1, 'long'),
    'gt_saliency': (1, 'float'), 'pred_saliency': (1, 'float'),
}


def _to_pixel_data(name: str, value) -> PixelData:
    if isinstance(value, PixelData):
        data = value.data
    else:
        data = value
    if not isinstance(data, torch.Tensor):
        data = torch.as_tensor(data)
    if data.dim() == 2:
        data = data[None]
    if data.dim() != 3:
        raise ValueError(f'{name}: expected a (C, H, W) or (H, W) map, got '
                         f'shape {tuple(data.shape)}')
    channels = DENSE_FIELDS.get(name, (None, None))[0]
    if channels is not None and data.shape[0] != channels:
        raise ValueError(f'{name}: expected {channels} channel(s), got shape '
                         f'{tuple(data.shape)}')
    return PixelData(data=data)


def _pixel_property(name: str, doc: str):

    def getter(self) -> Optional[PixelData]:
        return getattr(self, f'_{name}', None)

    def setter(self, value):
        self.set_field(_to_pixel_data(name, value), f'_{name}',
                       dtype=PixelData)

    def deleter(self):
        del self[f'_{name}']

    return property(getter, setter, deleter, doc)


class DenseDataSample(BaseDataElement):
    """A sample for dense prediction and generation.

    Every map is a :class:`~mmengine.structures.PixelData` whose ``data`` is a
    ``(C, H, W)`` tensor; setting a plain tensor or array (``(H, W)`` too)
    wraps it and checks the channel count.

    Data fields (all optional):

    - ``gt_depth`` / ``pred_depth``: (1, H, W) float, metres (or relative
      depth for affine-invariant predictions); 0 marks invalid ground truth.
    - ``gt_depth_norm``: (1, H, W) float in [-1, 1], affine-normalised depth
      (2%/98% quantiles -> -1/+1) used as a diffusion training target.
    - ``gt_depth_valid``: (1, H, W) bool, pixels with usable depth.
    - ``gt_normal`` / ``pred_normal``: (3, H, W) float unit vectors (x right,
      y down, z towards the camera as in Bae et al.); zero vectors invalid.
    - ``gt_normal_valid``: (1, H, W) bool.
    - ``gt_sem_seg`` / ``pred_sem_seg``: (1, H, W) long class ids; 255 is the
      ignore index. ``seg_logits``: (num_classes, H, W).
    - ``gt_parsing`` / ``pred_parsing``: (1, H, W) long human-part ids.
    - ``gt_saliency`` / ``pred_saliency``: (1, H, W) float in [0, 1].
    - ``caption``: str, the image's text.

    Meta fields (``set_metainfo``): ``img_path``, ``ori_shape`` (H, W) of the
    file, ``img_shape`` (H, W) after resizing, ``pad_shape`` and ``padding``
    (top, bottom, left, right) added after resizing, ``scale_factor``
    (w_scale, h_scale), ``flip`` and ``flip_direction``, ``depth_range``
    (min_depth, max_depth) in metres, ``depth_scale`` (file units per metre),
    ``protocol`` (name of the evaluation preset), ``dataset_name`` and
    ``intrinsics`` (3x3 list, pixels, for the original resolution).
    Set by particular transforms: ``kb_crop`` (top, left) of KITTI's
    benchmark crop in the file (``ori_shape`` is then the cropped frame),
    ``depth_norm_range`` (d_lo, d_hi) metres mapped to -1/+1 by
    ``NormalizeDepth``, ``valid_sample`` (False when no depth pixel was
    usable), ``batch_input_shape`` (set by ``DenseDataPreprocessor``).
    """

    gt_depth = _pixel_property('gt_depth', 'Ground-truth depth (1, H, W).')
    pred_depth = _pixel_property('pred_depth', 'Predicted depth (1, H, W).')
    gt_depth_norm = _pixel_property('gt_depth_norm',
                                    'Affine-normalised depth in [-1, 1].')
    gt_depth_valid = _pixel_property('gt_depth_valid', 'Valid depth mask.')
    pred_depth_uncertainty = _pixel_property('pred_depth_uncertainty',
                                             'Per-pixel depth uncertainty.')
    gt_normal = _pixel_property('gt_normal', 'Ground-truth normals (3, H, W).')
    pred_normal = _pixel_property('pred_normal', 'Predicted normals.')
    gt_normal_valid = _pixel_property('gt_normal_valid', 'Valid normal mask.')
    pred_normal_uncertainty = _pixel_property('pred_normal_uncertainty',
                                              'Normal uncertainty (kappa).')
    gt_sem_seg = _pixel_property('gt_sem_seg', 'Semantic labels (1, H, W).')
    pred_sem_seg = _pixel_property('pred_sem_seg', 'Predicted labels.')
    seg_logits = _pixel_property('seg_logits', 'Class logits (K, H, W).')
    gt_parsing = _pixel_property('gt_parsing', 'Human-part labels.')
    pred_parsing = _pixel_property('pred_parsing', 'Predicted human parts.')
    gt_saliency = _pixel_property('gt_saliency', 'Saliency in [0, 1].')
    pred_saliency = _pixel_property('pred_saliency', 'Predicted saliency.')

    @property
    def caption(self) -> Optional[str]:
        return getattr(self, '_caption', None)

    @caption.setter
    def caption(self, value: str):
        self.set_field(str(value), '_caption', dtype=str)

    @caption.deleter
    def caption(self):
        del self._caption


def stack_pixel_field(data_samples, name: str) -> Optional[torch.Tensor]:
    """Stack one map field of a list of samples into a (B, C, H, W) tensor.

    Returns ``None`` when no sample has the field. Raises ``ValueError`` when
    only some samples have it or their shapes differ, naming the field.
    """
    maps = [getattr(s, name, None) for s in data_samples]
    present = [m is not None for m in maps]
    if not any(present):
        return None
    if not all(present):
        raise ValueError(f'field {name!r} is set on {sum(present)} of '
                         f'{len(maps)} samples in the batch')
    tensors = [m.data for m in maps]
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f'field {name!r} has different shapes in one batch: '
                         f'{sorted(shapes)}; pad or resize in the pipeline')
    return torch.stack(tensors)
