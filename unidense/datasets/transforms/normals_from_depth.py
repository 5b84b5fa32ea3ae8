"""Surface normals computed from a depth map and the camera intrinsics
(for datasets with depth but no normal ground truth, e.g. the real NYU
samples)."""
from typing import Optional, Sequence

import numpy as np

from unidense.registry import TRANSFORMS
from .base_transform import BaseTransform


@TRANSFORMS.register_module()
class NormalsFromDepth(BaseTransform):
    """``gt_normal`` (H, W, 3) from ``gt_depth`` (H, W) metres.

    Every pixel is back-projected through the pinhole camera, P = ((u - cx)
    z / fx, (v - cy) z / fy, z); the normal is the cross product of P's
    central differences ``step`` pixels apart along u and v, turned towards
    the camera, in Bae et al.'s axes (x right, y down, z towards the
    camera) like ``LoadNormal`` and ``SyntheticScenes``. Pixels whose
    neighbours are missing or lie across a depth jump of more than
    ``max_jump`` (relative) are invalid: zero vectors, ``gt_normal_valid``
    False. Derived normals are noisy on real sensor depth; they measure
    agreement with the depth's geometry, not a published normal benchmark.

    Args:
        intrinsics: 3x3 K in pixels of the depth map; default the sample's
            ``intrinsics`` (datasets with a camera, e.g. NYUv2Dataset).
        step: pixel distance of the central differences.
        max_jump: largest relative depth change between the neighbours.
    """

    def __init__(self, intrinsics: Optional[Sequence] = None, step: int = 2,
                 max_jump: float = 0.05):
        if step < 1:
            raise ValueError(f'NormalsFromDepth: step must be >= 1, got '
                             f'{step}')
        self.intrinsics = None if intrinsics is None else \
            np.asarray(intrinsics, np.float64)
        self.step = int(step)
        self.max_jump = float(max_jump)

    def transform(self, results: dict) -> dict:
        if 'gt_depth' not in results:
            raise KeyError('NormalsFromDepth: no gt_depth (run LoadDepth)')
        k = self.intrinsics if self.intrinsics is not None else \
            results.get('intrinsics')
        if k is None:
            raise KeyError(f'NormalsFromDepth: no intrinsics for '
                           f'{results.get("img_path")}; pass intrinsics=')
        k = np.asarray(k, np.float64)
        z = np.asarray(results['gt_depth'], np.float64)
        valid = np.isfinite(z) & (z > 0)
        if 'gt_depth_valid' in results:
            valid &= np.asarray(results['gt_depth_valid'], bool)
        h, w = z.shape
        u, v = np.meshgrid(np.arange(w, dtype=np.float64),
                           np.arange(h, dtype=np.float64))
        points = np.stack([(u - k[0, 2]) * z / k[0, 0],
                           (v - k[1, 2]) * z / k[1, 1], z], -1)
        s = self.step
        pad = np.pad(points, ((s, s), (s, s), (0, 0)), mode='edge')
        zpad = np.pad(np.where(valid, z, np.nan), s, mode='constant',
                      constant_values=np.nan)
        du = pad[s:-s, 2 * s:] - pad[s:-s, :-2 * s]
        dv = pad[2 * s:, s:-s] - pad[:-2 * s, s:-s]
        normal = np.cross(du, dv)
        # turn towards the camera (the ray to the point is P itself)
        normal *= -np.sign(np.sum(normal * points, -1, keepdims=True) + 1e-30)
        norm = np.linalg.norm(normal, axis=-1, keepdims=True)
        near = np.stack([zpad[s:-s, 2 * s:], zpad[s:-s, :-2 * s],
                         zpad[2 * s:, s:-s], zpad[:-2 * s, s:-s]])
        with np.errstate(invalid='ignore'):
            jump = np.nanmax(np.abs(near - z[None]), 0) / np.maximum(z, 1e-6)
            ok = valid & np.isfinite(near).all(0) & (jump <= self.max_jump) \
                & (norm[..., 0] > 0)
        normal = np.where(ok[..., None], normal / np.maximum(norm, 1e-12), 0)
        normal[..., 2] *= -1          # z away from -> towards the camera
        results['gt_normal'] = normal.astype(np.float32)
        results['gt_normal_valid'] = ok
        return results
