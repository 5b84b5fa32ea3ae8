"""The one data-sample structure shared by datasets, models, metrics and tools."""
from typing import Optional

import torch
from mmengine.structures import BaseDataElement, PixelData

from .sample_fields import SAMPLE_FIELDS

# Field name -> (number of channels or None for any, dtype kind), derived from
# the sample-field table; used for the shape check in ``_to_pixel_data``.
DENSE_FIELDS = {
    name: (field.channels, field.dtype)
    for name, field in SAMPLE_FIELDS.items()
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
    - ``gt_saliency`` / ``pred_saliency``: (1, H, W) float in [0, 1];
      ``gt_saliency_valid`` (1, H, W) bool.
    - ``gt_edge`` / ``pred_edge``: (1, H, W) float boundary map in [0, 1].
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

    Every map field is a property made from
    :data:`~unidense.structures.sample_fields.SAMPLE_FIELDS` (one row per
    field: channels, dtype, pad value), below the class.
    """

    @property
    def caption(self) -> Optional[str]:
        return getattr(self, '_caption', None)

    @caption.setter
    def caption(self, value: str):
        self.set_field(str(value), '_caption', dtype=str)

    @caption.deleter
    def caption(self):
        del self._caption


for _field in SAMPLE_FIELDS.values():
    setattr(DenseDataSample, _field.name,
            _pixel_property(_field.name, _field.doc))
del _field


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
