"""Depth error measures as sums over pixels, so that per-image means and
dataset-pooled values come from the same code.

Definitions (``d = ln p - ln g`` over the N masked pixels, all in float64):

===========  ===========================================================
``abs_rel``  mean(|p - g| / g)
``sq_rel``   mean((p - g)^2 / g)
``rmse``     sqrt(mean((p - g)^2))                       [metres]
``rmse_log`` sqrt(mean(d^2))
``log10``    mean(|log10 p - log10 g|)
``delta{k}`` fraction with max(p/g, g/p) < 1.25^k, k = 1, 2, 3
``silog``    silog_scale * sqrt(mean(d^2) - silog_lambda * mean(d)^2)
``i_rmse``   sqrt(mean((1/p - 1/g)^2))                   [1/metres]
===========  ===========================================================

Marigold's SILog is ``silog_lambda=1, silog_scale=100``; mmsegmentation's is
``silog_lambda=0.5, silog_scale=1``. All values are fractions; presets turn
``abs_rel`` and ``delta*`` into percent.
"""
import math
from typing import Dict, Iterable, Optional

import numpy as np
import torch

from .depth_alignment import masked_chunks

__all__ = ['DEPTH_METRIC_NAMES', 'add_sums', 'depth_error_sums',
           'depth_errors_from_sums', 'depth_errors']

DEPTH_METRIC_NAMES = ('abs_rel', 'sq_rel', 'rmse', 'rmse_log', 'log10',
                      'delta1', 'delta2', 'delta3', 'silog', 'i_rmse')

_SUM_KEYS = ('count', 'abs_rel', 'sq_rel', 'sq_err', 'sq_log', 'log10',
             'delta1', 'delta2', 'delta3', 'log_diff', 'sq_inv')


def _np64(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().to('cpu', torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


_LOG_1_25 = math.log(1.25)
_ACCUMULATED = ('abs_rel', 'sq_rel', 'sq_err', 'sq_log', 'log10', 'delta1',
                'delta2', 'delta3', 'log_diff', 'sq_inv')


def _chunk_sums(p: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The :data:`_ACCUMULATED` sums (``log10`` still in natural log) of
    1-D float64 ``p`` and ``g``, both positive."""
    diff = p - g
    inv_g = 1.0 / g
    log_ratio = p * inv_g
    np.log(log_ratio, out=log_ratio)
    abs_log = np.abs(log_ratio)
    sq = diff * diff
    inv_diff = 1.0 / p
    inv_diff -= inv_g
    np.abs(diff, out=diff)
    # np.sum's pairwise summation, not BLAS dot products: sums of 3e5
    # terms stay within ~1e-16 of exact (math.fsum), as whole-image sums do
    return np.array([
        np.sum(diff * inv_g), np.sum(sq * inv_g), sq.sum(),
        np.sum(log_ratio * log_ratio), abs_log.sum(),
        np.count_nonzero(abs_log < _LOG_1_25),
        np.count_nonzero(abs_log < 2 * _LOG_1_25),
        np.count_nonzero(abs_log < 3 * _LOG_1_25),
        log_ratio.sum(), np.sum(inv_diff * inv_diff)
    ])


def depth_error_sums(pred, gt, mask=None) -> Dict[str, float]:
    """Sufficient statistics of every depth error over the masked pixels.

    Args:
        pred: (H, W) or (1, H, W) depth in metres, > 0 where masked.
        gt: same shape, metres, > 0 where masked.
        mask: same shape, bool; ``None`` means ``gt > 0``. Pixels where
            either map is non-finite or not positive are always excluded.

    Returns:
        dict of float sums keyed ``count, abs_rel, sq_rel, sq_err, sq_log,
        log10, delta1..3, log_diff, sq_inv``; add the dicts of several
        images to pool them.

    One logarithm per pixel: ``d = ln(p / g)``, ``log10 = |d| / ln 10`` and
    ``max(p/g, g/p) < 1.25^k`` as ``|d| < k ln 1.25``, in cache-sized
    chunks; each sum equals the textbook formula to ~1e-15 relative
    (tests/test_evaluation hold them to independent references).
    """
    p, g = _np64(pred), _np64(gt)
    if p.shape != g.shape:
        raise ValueError(f'depth_error_sums: pred shape {p.shape} != gt '
                         f'shape {g.shape}')
    valid = np.isfinite(p) & np.isfinite(g) & (g > 0) & (p > 0)
    if mask is not None:
        m = (mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor)
             else np.asarray(mask)).astype(bool, copy=False)
        if m.shape != p.shape:
            raise ValueError(f'depth_error_sums: mask shape {m.shape} != '
                             f'pred shape {p.shape}')
        valid &= m
    total, count = np.zeros(len(_ACCUMULATED)), 0
    for pc, gc in masked_chunks((p, g), valid):
        if pc.size:
            count += pc.size
            total += _chunk_sums(pc, gc)
    out = dict(count=float(count),
               **{k: float(v) for k, v in zip(_ACCUMULATED, total)})
    out['log10'] /= math.log(10.0)
    return out


def add_sums(sums: Iterable[Dict[str, float]]) -> Dict[str, float]:
    """Pool several :func:`depth_error_sums` dicts."""
    total = dict.fromkeys(_SUM_KEYS, 0.0)
    for s in sums:
        for k in _SUM_KEYS:
            total[k] += s[k]
    return total


def depth_errors_from_sums(sums: Dict[str, float],
                           metrics: Optional[Iterable[str]] = None,
                           silog_lambda: float = 1.0,
                           silog_scale: float = 1.0) -> Dict[str, float]:
    """Turn :func:`depth_error_sums` output into the error measures.

    Raises ``ValueError`` for a zero pixel count rather than returning NaN.
    """
    n = sums['count']
    if n <= 0:
        raise ValueError('depth_errors_from_sums: no valid pixel')
    mean_d = sums['log_diff'] / n
    # Rounding can make mean(d^2) - mean(d)^2 a tiny negative number.
    silog_var = max(sums['sq_log'] / n - silog_lambda * mean_d**2, 0.0)
    out = dict(
        abs_rel=sums['abs_rel'] / n,
        sq_rel=sums['sq_rel'] / n,
        rmse=float(np.sqrt(sums['sq_err'] / n)),
        rmse_log=float(np.sqrt(sums['sq_log'] / n)),
        log10=sums['log10'] / n,
        delta1=sums['delta1'] / n,
        delta2=sums['delta2'] / n,
        delta3=sums['delta3'] / n,
        silog=silog_scale * float(np.sqrt(silog_var)),
        i_rmse=float(np.sqrt(sums['sq_inv'] / n)),
    )
    if metrics is None:
        return out
    unknown = set(metrics) - set(out)
    if unknown:
        raise ValueError(f'unknown depth metric(s) {sorted(unknown)}; '
                         f'choose from {DEPTH_METRIC_NAMES}')
    return {k: out[k] for k in metrics}


def depth_errors(pred, gt, mask=None, metrics=None, silog_lambda: float = 1.0,
                 silog_scale: float = 1.0) -> Dict[str, float]:
    """Per-image depth errors (fractions, metres); see the module table.

    Args:
        pred: (H, W) or (1, H, W) depth in metres.
        gt: same shape, metres, 0 = invalid.
        mask: optional bool mask of the same shape.
        metrics: subset of :data:`DEPTH_METRIC_NAMES`; all when ``None``.

    Returns:
        ``{name: float}``. Raises ``ValueError`` if no pixel is valid.
    """
    return depth_errors_from_sums(depth_error_sums(pred, gt, mask), metrics,
                                  silog_lambda, silog_scale)
