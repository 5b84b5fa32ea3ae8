"""Data transforms (TRANSFORMS lists this package in ``locations``)."""
from .base_transform import BaseTransform
from .formatting import PackDenseInputs
from .kb_crop import KBCrop
from .loading import (LoadDepth, LoadDepthMask, LoadImage, LoadNormal,
                      LoadSaliency, LoadSemSeg)
from .normalize_depth import NormalizeDepth
from .pad_to_multiple import PadToMultiple, ResizeToMultiple
from .photometric import PhotoMetricDistortion
from .random_crop import RandomCrop
from .random_flip import RandomFlip
from .resize import RandomResize, Resize

__all__ = ['BaseTransform', 'PackDenseInputs', 'KBCrop', 'LoadDepth',
           'LoadDepthMask', 'LoadImage', 'LoadNormal', 'LoadSaliency',
           'LoadSemSeg', 'NormalizeDepth', 'PadToMultiple',
           'ResizeToMultiple', 'PhotoMetricDistortion', 'RandomCrop',
           'RandomFlip', 'RandomResize', 'Resize']
