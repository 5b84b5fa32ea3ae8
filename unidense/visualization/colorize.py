"""Colour maps for dense maps: depth, normals, labels. All return (H, W, 3)
uint8 RGB arrays."""
from functools import lru_cache
from typing import Optional, Sequence, Tuple

import numpy as np
import torch

__all__ = ['colorize_depth', 'colorize_normal', 'colorize_labels',
           'label_palette']


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        x = x.double() if x.is_floating_point() else x
        x = x.numpy()
    return np.asarray(x)


@lru_cache(maxsize=8)
def _lut(cmap: str) -> np.ndarray:
    import matplotlib
    try:
        cm = matplotlib.colormaps[cmap]
    except KeyError:
        raise ValueError(f'unknown colour map {cmap!r}; try Spectral, turbo, '
                         f'viridis, magma or gray') from None
    return (cm(np.linspace(0.0, 1.0, 256))[:, :3] * 255).round().astype(
        np.uint8)


def colorize_depth(depth, mask=None, vmin: Optional[float] = None,
                   vmax: Optional[float] = None, cmap: str = 'Spectral',
                   percentiles: Tuple[float, float] = (2.0, 98.0),
                   invalid_color: Sequence[int] = (0, 0, 0)) -> np.ndarray:
    """Colour-map a depth (or any scalar) map.

    Args:
        depth: (H, W) or (1, H, W) array/tensor; pixels that are not finite
            or not > 0 count as invalid (pass ``mask`` to override for
            signed maps such as disparity in [-1, 1]).
        mask: optional (H, W) bool, pixels to colour.
        vmin, vmax: colour range; by default the ``percentiles`` of the
            valid pixels of this image (Marigold-style 2-98 %).
        cmap: a matplotlib colour map; 'Spectral' maps small values (near)
            to red and large (far) to blue, 'turbo' near to blue.

    Returns:
        (H, W, 3) uint8 RGB; invalid pixels ``invalid_color``.
    """
    d = _np(depth).astype(np.float64)
    if d.ndim == 3 and d.shape[0] == 1:
        d = d[0]
    if d.ndim != 2:
        raise ValueError(f'colorize_depth: expected (H, W) or (1, H, W), got '
                         f'{d.shape}')
    valid = np.isfinite(d)
    if mask is None:
        valid &= d > 0
    else:
        m = _np(mask).astype(bool)
        valid &= m[0] if m.ndim == 3 else m
    out = np.empty(d.shape + (3, ), dtype=np.uint8)
    out[:] = np.asarray(invalid_color, dtype=np.uint8)
    if not valid.any():
        return out
    vals = d[valid]
    lo = np.percentile(vals, percentiles[0]) if vmin is None else vmin
    hi = np.percentile(vals, percentiles[1]) if vmax is None else vmax
    t = (vals - lo) / (hi - lo) if hi > lo else np.full_like(vals, 0.5)
    idx = np.clip(np.round(t * 255), 0, 255).astype(np.int64)
    out[valid] = _lut(cmap)[idx]
    return out


def colorize_normal(normal, channel_axis: int = 0) -> np.ndarray:
    """Map unit normals to colours with (n + 1) / 2 per channel.

    Args:
        normal: (3, H, W) (``channel_axis=0``, the DenseDataSample layout)
            or (H, W, 3) (``channel_axis=-1``) in [-1, 1]. Zero or
            non-finite vectors (invalid) are black.
    """
    n = _np(normal).astype(np.float64)
    if n.ndim != 3 or n.shape[channel_axis] != 3:
        raise ValueError(f'colorize_normal: expected 3 channels on axis '
                         f'{channel_axis}, got {n.shape}')
    n = np.moveaxis(n, channel_axis, -1)
    invalid = ~np.isfinite(n).all(-1) | (np.abs(n).sum(-1) == 0)
    rgb = np.clip((np.nan_to_num(n) + 1.0) / 2.0 * 255.0, 0, 255)
    rgb = rgb.round().astype(np.uint8)
    rgb[invalid] = 0
    return rgb


def label_palette(num_colors: int = 256) -> np.ndarray:
    """A fixed, reproducible palette: (num_colors, 3) uint8. Colours come
    from a seeded generator, kept away from black so that class colours
    differ from ignored pixels."""
    rng = np.random.RandomState(2024)
    return rng.randint(40, 256, size=(num_colors, 3)).astype(np.uint8)


def colorize_labels(labels, palette: Optional[np.ndarray] = None,
                    ignore_index: int = 255,
                    ignore_color: Sequence[int] = (0, 0, 0)) -> np.ndarray:
    """Colour class ids with a fixed palette.

    Args:
        labels: (H, W) or (1, H, W) integer ids.
        palette: (K, 3) uint8; default :func:`label_palette`.
        ignore_index: id drawn in ``ignore_color``.
    """
    lab = _np(labels)
    if lab.ndim == 3 and lab.shape[0] == 1:
        lab = lab[0]
    if lab.ndim != 2:
        raise ValueError(f'colorize_labels: expected (H, W), got {lab.shape}')
    lab = lab.astype(np.int64)
    pal = label_palette() if palette is None else np.asarray(palette,
                                                             np.uint8)
    ignore = (lab == ignore_index) | (lab < 0)
    out = pal[np.where(ignore, 0, lab) % len(pal)]
    out[ignore] = np.asarray(ignore_color, dtype=np.uint8)
    return out
