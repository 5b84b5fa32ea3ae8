"""Angular error of surface normals, and a fixed-width histogram that lets a
dataset-pooled median merge exactly across images and ranks."""
from typing import Tuple

import numpy as np
import torch

__all__ = ['angular_error_deg', 'angle_histogram', 'histogram_median',
           'HIST_BIN_DEG', 'HIST_NUM_BINS']

#: Width of a histogram bin in degrees; the pooled median is exact to half
#: of this.
HIST_BIN_DEG = 0.01
HIST_NUM_BINS = int(round(180.0 / HIST_BIN_DEG))


def _np64(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().to('cpu', torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def angular_error_deg(pred, gt, channel_axis: int = 0) -> np.ndarray:
    """Angle between ``pred`` and ``gt`` vectors in degrees, in [0, 180].

    Both are normalised first (a zero prediction is 90 degrees from every
    ground truth). Computed as ``2 * atan2(|p - g|, |p + g|)``, which keeps
    full precision for small angles where ``arccos`` of the cosine does not.

    Args:
        pred, gt: arrays/tensors with 3 channels on ``channel_axis``, e.g.
            (3, H, W).

    Returns:
        float64 array without the channel axis, e.g. (H, W).
    """
    p, g = _np64(pred), _np64(gt)
    if p.shape != g.shape or p.shape[channel_axis] != 3:
        raise ValueError(f'angular_error_deg: need equal shapes with 3 '
                         f'channels on axis {channel_axis}, got {p.shape} '
                         f'and {g.shape}')

    def unit(v):
        norm = np.linalg.norm(v, axis=channel_axis, keepdims=True)
        return v / np.maximum(norm, 1e-12)

    p, g = unit(p), unit(g)
    a = np.linalg.norm(p - g, axis=channel_axis)
    b = np.linalg.norm(p + g, axis=channel_axis)
    return np.degrees(2.0 * np.arctan2(a, b))


def angle_histogram(errors: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Sparse histogram of angles in :data:`HIST_BIN_DEG` bins.

    Returns:
        (bin_indices uint16, counts int32), only non-empty bins: at most
        18000 bins of 6 bytes per image, so a NYU-size test set stays a few
        tens of MB when gathered from the ranks.
    """
    idx = np.clip((np.asarray(errors) / HIST_BIN_DEG).astype(np.int64), 0,
                  HIST_NUM_BINS - 1)
    bins, counts = np.unique(idx, return_counts=True)
    return bins.astype(np.uint16), counts.astype(np.int32)


def histogram_median(bins: np.ndarray, counts: np.ndarray) -> float:
    """Median angle of a (merged) histogram: the centre of the bin holding
    the middle element (the mean of the two middle bins for an even count).
    """
    total = int(np.sum(counts, dtype=np.int64))
    if total == 0:
        raise ValueError('histogram_median: empty histogram')
    order = np.argsort(bins, kind='stable')
    bins = bins[order].astype(np.int64)
    cum = np.cumsum(counts[order].astype(np.int64))
    lo = bins[np.searchsorted(cum, (total - 1) // 2 + 1)]
    hi = bins[np.searchsorted(cum, total // 2 + 1)]
    return float((lo + hi) / 2.0 + 0.5) * HIST_BIN_DEG
