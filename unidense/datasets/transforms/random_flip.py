"""Horizontal RandomFlip; normals get their x component negated."""
import numpy as np

from unidense.registry import TRANSFORMS
from .base_transform import BaseTransform
from .map_fields import present_maps


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Flip image and maps left-right with probability ``prob``.

    A mirrored scene's surfaces face the mirrored way, so ``gt_normal`` x
    (right) is negated; zero (invalid) vectors stay zero. Records ``flip``
    and ``flip_direction``.
    """

    def __init__(self, prob: float = 0.5, direction: str = 'horizontal'):
        if direction != 'horizontal':
            raise ValueError(f'RandomFlip: only horizontal flips keep the '
                             f'camera model meaningful; got {direction!r}')
        if not 0 <= prob <= 1:
            raise ValueError(f'RandomFlip: prob must be in [0, 1], got '
                             f'{prob}')
        self.prob = prob
        self.direction = direction

    def transform(self, results: dict) -> dict:
        flip = bool(np.random.rand() < self.prob)
        if flip:
            for key in present_maps(results):
                results[key] = np.ascontiguousarray(results[key][:, ::-1])
            if 'gt_normal' in results:
                normal = results['gt_normal'].copy()
                normal[..., 0] = -normal[..., 0]
                normal[..., 0][normal[..., 0] == 0] = 0  # no -0.0
                results['gt_normal'] = normal
        # A second flip (test-time augmentation) undoes the first.
        results['flip'] = bool(results.get('flip', False)) ^ flip
        results['flip_direction'] = self.direction
        return results
