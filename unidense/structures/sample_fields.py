"""The one table of sample fields: names, shapes, dtypes, pad values.

Transforms (resize / pad / crop / flip), ``PackDenseInputs``, the
``DenseDataSample`` properties, ``DenseDataPreprocessor``'s batch padding and
the metrics' defaults all read this table, so a new map kind (an edge map, a
saliency-valid mask) is one row here and every stage treats it alike.
Keys follow ``docs/advanced_guides/interfaces.md`` section 1.
"""
from dataclasses import dataclass
from typing import Dict, Optional, Tuple, Union

PadValue = Union[int, float, bool]

#: label id that is not evaluated (and the pad value of label maps)
IGNORE_INDEX = 255


@dataclass(frozen=True)
class SampleField:
    """How one per-pixel field is stored and treated.

    Attributes:
        name: key in a pipeline's results dict and attribute of
            :class:`~unidense.structures.DenseDataSample`.
        channels: C of the packed (C, H, W) map; None for any number.
        dtype: 'float' (float32), 'bool' or 'long' (int64) once packed.
        kind: how geometry treats it: 'depth', 'mask', 'normal', 'label',
            'saliency' (all nearest-neighbour, normals renormalised) or
            'logits'. The image itself is kind 'image' (bilinear).
        pad_value: value of padded pixels (depth 0 = invalid, masks False,
            labels ``IGNORE_INDEX``).
        ground_truth: carried by data pipelines (``gt_*``), as opposed to a
            model output (``pred_*``).
        doc: one line for docs and property docstrings.
    """
    name: str
    channels: Optional[int]
    dtype: str
    kind: str
    pad_value: PadValue
    ground_truth: bool
    doc: str


def _gt(name, channels, dtype, kind, pad_value, doc):
    return SampleField(name, channels, dtype, kind, pad_value, True, doc)


def _pred(name, channels, dtype, kind, doc):
    pad = IGNORE_INDEX if kind == 'label' else 0
    return SampleField(name, channels, dtype, kind, pad, False, doc)


_ROWS = (
    _gt('gt_depth', 1, 'float', 'depth', 0,
        'Ground-truth depth (1, H, W), metres; 0 = invalid.'),
    _gt('gt_depth_valid', 1, 'bool', 'mask', False,
        'Valid depth mask (1, H, W).'),
    _gt('gt_depth_norm', 1, 'float', 'depth', 0,
        'Affine-normalised depth in [-1, 1] (1, H, W).'),
    _gt('gt_normal', 3, 'float', 'normal', 0,
        'Ground-truth unit normals (3, H, W); zero vectors invalid.'),
    _gt('gt_normal_valid', 1, 'bool', 'mask', False,
        'Valid normal mask (1, H, W).'),
    _gt('gt_sem_seg', 1, 'long', 'label', IGNORE_INDEX,
        'Semantic labels (1, H, W); 255 ignored.'),
    _gt('gt_parsing', 1, 'long', 'label', IGNORE_INDEX,
        'Human-part labels (1, H, W); 255 ignored.'),
    _gt('gt_saliency', 1, 'float', 'saliency', 0,
        'Saliency in [0, 1] (1, H, W).'),
    _gt('gt_saliency_valid', 1, 'bool', 'mask', False,
        'Valid saliency mask (1, H, W).'),
    _gt('gt_edge', 1, 'float', 'saliency', 0,
        'Boundary map in [0, 1] (1, H, W).'),
    _pred('pred_depth', 1, 'float', 'depth', 'Predicted depth (1, H, W).'),
    _pred('pred_depth_uncertainty', 1, 'float', 'depth',
          'Per-pixel depth uncertainty (1, H, W).'),
    _pred('pred_normal', 3, 'float', 'normal',
          'Predicted normals (3, H, W).'),
    _pred('pred_normal_uncertainty', 1, 'float', 'depth',
          'Normal uncertainty (kappa) (1, H, W).'),
    _pred('pred_sem_seg', 1, 'long', 'label', 'Predicted labels (1, H, W).'),
    _pred('seg_logits', None, 'float', 'logits',
          'Class logits (K, H, W).'),
    _pred('pred_parsing', 1, 'long', 'label',
          'Predicted human parts (1, H, W).'),
    _pred('pred_saliency', 1, 'float', 'saliency',
          'Predicted saliency (1, H, W).'),
    _pred('pred_edge', 1, 'float', 'saliency',
          'Predicted boundary map (1, H, W).'),
)

#: name -> SampleField, ground truth first, in a fixed order
SAMPLE_FIELDS: Dict[str, SampleField] = {row.name: row for row in _ROWS}

#: names of the ground-truth pixel fields data pipelines carry
GT_PIXEL_FIELDS: Tuple[str, ...] = tuple(
    row.name for row in _ROWS if row.ground_truth)


def gt_pad_values() -> Dict[str, PadValue]:
    """``{gt field: pad value}`` for padding ground truth with an image."""
    return {name: SAMPLE_FIELDS[name].pad_value for name in GT_PIXEL_FIELDS}
