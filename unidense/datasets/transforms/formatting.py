"""PackDenseInputs: results dict -> dict(inputs, data_samples)."""
from typing import Sequence

import numpy as np
import torch

from unidense.registry import TRANSFORMS
from unidense.structures import (GT_PIXEL_FIELDS, SAMPLE_FIELDS,
                                 DenseDataSample)
from .base_transform import BaseTransform

# every ground-truth map of the sample-field table
_MAPS = GT_PIXEL_FIELDS


@TRANSFORMS.register_module()
class PackDenseInputs(BaseTransform):
    """Pack into ``dict(inputs=uint8 (3, H, W) RGB, data_samples=...)``.

    Maps become (C, H, W) tensors on a :class:`DenseDataSample`: depth and
    saliency float32, masks bool, labels int64, normals float32 (3, H, W).
    ``caption`` is copied; ``meta_keys`` present in the results become
    metainfo (missing ones are skipped). A map whose size is neither the
    image's nor ``ori_shape`` is refused with an error naming it.
    """

    DEFAULT_META_KEYS = ('img_path', 'depth_path', 'sample_idx', 'ori_shape',
                         'img_shape', 'pad_shape', 'padding', 'scale_factor',
                         'flip', 'flip_direction', 'depth_range',
                         'depth_scale', 'protocol', 'dataset_name',
                         'intrinsics', 'kb_crop', 'valid_sample',
                         'depth_norm_range', 'reduce_zero_label',
                         'unlabelled')

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError('PackDenseInputs: results has no img')
        img = results['img']
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'PackDenseInputs: img must be (H, W, 3), got '
                             f'{img.shape} ({results.get("img_path")})')
        # Every map is at the network input size or, in test pipelines,
        # at the file size (``ori_shape``); anything else is a pipeline bug
        # that would surface much later as a shape error in a loss.
        allowed = {tuple(img.shape[:2])}
        if results.get('ori_shape') is not None:
            allowed.add(tuple(results['ori_shape'][:2]))
        for key in _MAPS:
            if key in results:
                shape = tuple(np.shape(results[key])[:2])
                if shape not in allowed:
                    raise ValueError(
                        f'PackDenseInputs: {key} has size {shape}, but the '
                        f'image is {tuple(img.shape[:2])} and ori_shape '
                        f'{results.get("ori_shape")} '
                        f'({results.get("img_path")})')
        inputs = torch.from_numpy(
            np.ascontiguousarray(img.transpose(2, 0, 1)))
        sample = DenseDataSample()
        for key in _MAPS:
            if key not in results:
                continue
            arr = np.asarray(results[key])
            field = SAMPLE_FIELDS[key]
            if field.kind == 'normal':
                arr = arr.transpose(2, 0, 1)  # (H, W, 3) -> (3, H, W)
            elif field.dtype == 'long':
                arr = arr.astype(np.int64)
            elif arr.dtype != bool:
                arr = arr.astype(np.float32)
            setattr(sample, key, torch.from_numpy(np.ascontiguousarray(arr)))
        if results.get('caption') is not None:
            sample.caption = results['caption']
        meta = {}
        for key in self.meta_keys:
            if key in results:
                value = results[key]
                meta[key] = tuple(value) if isinstance(
                    value, (list, np.ndarray)) and key.endswith(
                        ('shape', 'padding', 'range', 'factor')) else value
        sample.set_metainfo(meta)
        return dict(inputs=inputs, data_samples=sample)
