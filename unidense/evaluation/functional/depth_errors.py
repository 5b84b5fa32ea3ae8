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
from typing import Dict, Iterable, Optional

import numpy as np
import torch

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
    """
    p, g = _np64(pred), _np64(gt)
    if p.shape != g.shape:
        raise ValueError(f'depth_error_sums: pred shape {p.shape} != gt '
                         f'shape {g.shape}')
    valid = np.isfinite(p) & np.isfinite(g) & (g > 0) & (p > 0)
    if mask is not None:
        m = (mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor)
             else np.asarray(mask)).astype(bool)
        if m.shape != p.shape:
            raise ValueError(f'depth_error_sums: mask shape {m.shape} != '
                             f'pred shape {p.shape}')
        valid &= m
    p, g = p[valid], g[valid]
    diff = p - g
    log_diff = np.log(p) - np.log(g)
    ratio = np.maximum(p / g, g / p)
    return dict(
        count=float(p.size),
        abs_rel=float(np.sum(np.abs(diff) / g)),
        sq_rel=float(np.sum(diff**2 / g)),
        sq_err=float(np.sum(diff**2)),
        sq_log=float(np.sum(log_diff**2)),
        log10=float(np.sum(np.abs(np.log10(p) - np.log10(g)))),
        delta1=float(np.sum(ratio < 1.25)),
        delta2=float(np.sum(ratio < 1.25**2)),
        delta3=float(np.sum(ratio < 1.25**3)),
        log_diff=float(np.sum(log_diff)),
        sq_inv=float(np.sum((1.0 / p - 1.0 / g)**2)),
    )


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
