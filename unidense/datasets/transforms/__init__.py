"""Data transforms (TRANSFORMS lists this package in ``locations``)."""
from .base_transform import BaseTransform
from .formatting import PackDenseInputs
from .kb_crop import KBCrop
from .load_edge import LoadEdge
from .loading import (LoadDepth, LoadDepthMask, LoadImage, LoadNormal,
                      LoadSaliency, LoadSemSeg)
from .map_labels import MapLabels
from .normalize_depth import NormalizeDepth
from .normals_from_depth import NormalsFromDepth
from .pad_to_multiple import PadToMultiple, ResizeToMultiple
from .photometric import PhotoMetricDistortion
from .random_crop import RandomCrop
from .random_flip import RandomFlip
from .resize import RandomResize, Resize

__all__ = ['BaseTransform', 'PackDenseInputs', 'KBCrop', 'LoadDepth',
           'LoadDepthMask', 'LoadEdge', 'LoadImage', 'LoadNormal',
           'LoadSaliency', 'LoadSemSeg', 'MapLabels', 'NormalizeDepth',
           'NormalsFromDepth',
           'PadToMultiple', 'ResizeToMultiple', 'PhotoMetricDistortion',
           'RandomCrop', 'RandomFlip', 'RandomResize', 'Resize']
