"""Scale (and shift) alignment of affine-invariant depth to metric depth.

Pure functions shared by :class:`~unidense.evaluation.DepthMetric` and by the
depth ensembling of the sampling pipelines. All fits run in float64: the
normal equations of a least-squares fit lose digits in float32, and the
evaluation protocol promises AbsRel < 1e-6 when a known affine map relates
prediction and ground truth.

Every function takes ``pred``, ``gt`` and ``mask`` of one shape (``(H, W)``
or ``(1, H, W)``; numpy arrays or torch tensors) and returns
``(aligned, scale, shift)`` where ``aligned`` has the type, device and shape of
``pred`` (float64 for numpy input, ``pred``'s floating dtype for tensors) and
``scale``/``shift`` are Python floats.
"""
from typing import Optional, Tuple

import numpy as np
import torch

__all__ = ['align_depth_least_squares', 'align_depth_least_squares_disparity',
           'align_depth_median_scale', 'align_depth_repeated_median',
           'downsample_for_alignment']


def _as_numpy64(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().to('cpu', torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def _check(pred, gt, mask, fn: str):
    p = _as_numpy64(pred, 'pred')
    g = _as_numpy64(gt, 'gt')
    if p.shape != g.shape:
        raise ValueError(f'{fn}: pred shape {p.shape} != gt shape {g.shape}')
    if mask is None:
        m = np.ones(p.shape, dtype=bool)
    else:
        m = (mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor)
             else np.asarray(mask)).astype(bool)
        if m.shape != p.shape:
            raise ValueError(f'{fn}: mask shape {m.shape} != pred shape '
                             f'{p.shape}')
    # Non-finite values would poison every sum of the fit.
    m = m & np.isfinite(p) & np.isfinite(g)
    return p, g, m


def _like_pred(aligned: np.ndarray, pred):
    if isinstance(pred, torch.Tensor):
        dtype = pred.dtype if pred.is_floating_point() else torch.float32
        return torch.from_numpy(aligned).to(device=pred.device, dtype=dtype)
    return aligned


def downsample_for_alignment(arrays, max_resolution: Optional[int],
                             axes: str = 'both'):
    """Nearest-neighbour downsample ``arrays`` (same (..., H, W) shape) so the
    longer side is at most ``max_resolution``; Marigold fits ETH3D's
    6048x4032 maps at 1024 px this way. ``None`` returns them unchanged.

    The grid is the one of ``torch.nn.Upsample(scale_factor=f,
    mode='nearest')`` with ``f = max_resolution / max(H, W)`` (output size
    ``floor(H f)``, source index ``floor(i / f)``).

    Args:
        axes: 'both' resamples rows and columns. 'width' resamples only the
            columns, which is what Marigold's evaluation code actually does
            (it hands a (1, H, W) tensor to ``nn.Upsample``, which treats it
            as 1-D data); the ETH3D preset uses it to reproduce the
            published numbers exactly.
    """
    if axes not in ('both', 'width'):
        raise ValueError(f"downsample_for_alignment: axes must be 'both' or "
                         f"'width', got {axes!r}")
    if max_resolution is None:
        return arrays
    h, w = arrays[0].shape[-2:]
    factor = max_resolution / max(h, w)
    if factor >= 1:
        return arrays

    def grid(n):
        size = max(1, int(np.floor(n * factor)))
        return np.minimum(np.floor(np.arange(size) / factor), n - 1).astype(
            int)

    rows = grid(h) if axes == 'both' else np.arange(h)
    cols = grid(w)
    return [a[..., rows[:, None], cols[None, :]] for a in arrays]


# elements per pass of the chunked sums: 64 KiB of float64, under glibc's
# mmap threshold, so the temporaries come from the heap instead of fresh
# (page-faulting) mappings, and stay in cache
CHUNK = 8192


def masked_chunks(arrays, mask: Optional[np.ndarray] = None):
    """Yield lists of 1-D pieces of same-shape ``arrays`` (flattened,
    ``CHUNK`` elements at a time), restricted to ``mask`` when given; the
    pieces together are ``[a[mask] for a in arrays]`` in that order,
    without whole-image temporaries."""
    flats = [np.ravel(a) for a in arrays]
    flat_mask = None if mask is None else np.ravel(mask)
    for start in range(0, flats[0].size, CHUNK):
        piece = slice(start, start + CHUNK)
        if flat_mask is None:
            yield [f[piece] for f in flats]
        else:
            keep = flat_mask[piece]
            yield [f[piece][keep] for f in flats]


def _fit_scale_shift(p: np.ndarray, g: np.ndarray,
                     mask: Optional[np.ndarray] = None) -> Tuple[float, float]:
    """Least squares of ``s * p + t ~ g`` over float64 ``p``, ``g`` (1-D, or
    any same shape restricted to the bool ``mask``).

    Centred normal equations: same solution as ``np.linalg.lstsq`` on
    ``[p, 1]`` but without building the (N, 2) design matrix, in cache-sized
    chunks (three passes: means, spread, centred products). The centred
    prediction is rescaled by a power of two (exact in floating point)
    before squaring, so predictions of any magnitude from 1e-300 to 1e300
    fit (squares of 1e-160 or 1e160 would under- / overflow). A prediction
    that is constant (up to rounding) has no scale information, so it gets
    ``s = 0, t = mean(g)``.

    Raises:
        ValueError: the prediction's spread overflows float64.
    """
    count, p_sum, g_sum, p_abs = 0, 0.0, 0.0, 0.0
    with np.errstate(over='ignore', invalid='ignore'):
        for pc, gc in masked_chunks((p, g), mask):
            if pc.size:
                count += pc.size
                p_sum += float(pc.sum())
                g_sum += float(gc.sum())
                p_abs = max(p_abs, float(np.max(np.abs(pc))))
        p_mean, g_mean = p_sum / max(count, 1), g_sum / max(count, 1)
        peak = 0.0
        for (pc, ) in masked_chunks((p, ), mask):
            if pc.size:
                peak = max(peak, float(np.max(np.abs(pc - p_mean))))
    if not np.isfinite(peak) or not np.isfinite(p_mean):
        raise ValueError('least-squares alignment: the prediction\'s values '
                         'overflow float64 (|pred| near 1e308)')
    if peak <= 8 * np.finfo(np.float64).eps * p_abs:
        return 0.0, float(g_mean)
    exponent = int(np.frexp(peak)[1])
    cross, square = 0.0, 0.0
    for pc, gc in masked_chunks((p, g), mask):
        pn = np.ldexp(pc - p_mean, -exponent)
        cross += float(np.sum(pn * (gc - g_mean)))
        square += float(np.sum(pn * pn))
    scale = float(np.ldexp(cross / square, -exponent))
    return scale, float(g_mean - scale * p_mean)


def _need_pixels(m: np.ndarray, fn: str, minimum: int = 2):
    n = int(m.sum())
    if n < minimum:
        raise ValueError(f'{fn}: {n} valid pixel(s), at least {minimum} '
                         f'needed for the fit')


def align_depth_least_squares(pred, gt, mask=None,
                              max_resolution: Optional[int] = None,
                              downsample: str = 'both'):
    """Least-squares scale and shift in depth space (Marigold protocol).

    Solves ``min_{s,t} sum_mask (s * pred + t - gt)^2``.

    Args:
        pred: (H, W) or (1, H, W) affine-invariant depth.
        gt: same shape, metric depth in metres.
        mask: same shape, bool; pixels used by the fit (non-finite values
            are dropped as well).
        max_resolution: fit on a nearest-downsampled copy whose longer side
            is at most this (e.g. 1024 for ETH3D); the returned map is
            always full size.
        downsample: 'both' or 'width' (Marigold's code), see
            :func:`downsample_for_alignment`. Also accepted by the other
            alignment functions.

    Returns:
        (aligned, scale, shift) with ``aligned = scale * pred + shift``.
    """
    fn = 'align_depth_least_squares'
    p, g, m = _check(pred, gt, mask, fn)
    ps, gs, ms = downsample_for_alignment([p, g, m], max_resolution,
                                          downsample)
    _need_pixels(ms, fn)
    scale, shift = _fit_scale_shift(ps, gs, ms)
    return _like_pred(p * scale + shift, pred), scale, shift


def align_depth_least_squares_disparity(pred, gt, mask=None,
                                        max_resolution: Optional[int] = None,
                                        min_disparity: float = 1e-3,
                                        downsample: str = 'both'):
    """Least-squares scale and shift in inverse-depth (disparity) space.

    For models whose output is an affine-invariant *disparity* (larger =
    nearer, e.g. MiDaS or JointNet): fits ``s * pred + t ~ 1 / gt`` over the
    mask (pixels with ``gt > 0`` and ``pred > 0``), then converts the aligned
    disparity back to depth, clipping disparity at ``min_disparity`` so that
    far pixels stay finite.

    Returns:
        (aligned_depth, scale, shift); scale and shift act on disparity.
    """
    fn = 'align_depth_least_squares_disparity'
    p, g, m = _check(pred, gt, mask, fn)
    m = m & (g > 0) & (p > 0)
    g_disp = np.zeros_like(g)
    g_disp[g > 0] = 1.0 / g[g > 0]
    ps, gs, ms = downsample_for_alignment([p, g_disp, m], max_resolution,
                                          downsample)
    _need_pixels(ms, fn)
    scale, shift = _fit_scale_shift(ps, gs, ms)
    disp = np.maximum(p * scale + shift, min_disparity)
    return _like_pred(1.0 / disp, pred), scale, shift


def align_depth_median_scale(pred, gt, mask=None,
                             max_resolution: Optional[int] = None,
                             downsample: str = 'both'):
    """Scale-only alignment: ``s = median(gt) / median(pred)``, no shift.

    The protocol of scale-invariant (not shift-invariant) methods. Pixels
    need ``gt > 0`` and ``pred > 0``.

    Returns:
        (aligned, scale, 0.0).
    """
    fn = 'align_depth_median_scale'
    p, g, m = _check(pred, gt, mask, fn)
    m = m & (g > 0) & (p > 0)
    ps, gs, ms = downsample_for_alignment([p, g, m], max_resolution,
                                          downsample)
    _need_pixels(ms, fn, minimum=1)
    scale = float(np.median(gs[ms]) / np.median(ps[ms]))
    return _like_pred(p * scale, pred), scale, 0.0


def align_depth_repeated_median(pred, gt, mask=None,
                                max_resolution: Optional[int] = None,
                                num_fits: int = 20,
                                num_samples: int = 1000,
                                space: str = 'disparity',
                                seed: int = 0,
                                min_disparity: float = 1e-3,
                                downsample: str = 'both'):
    """JointNet's alignment: median of repeated least-squares fits.

    JointNet (ICLR 2024, Sec. 5.2) aligns disparity-like estimates to the
    ground truth by drawing random samples of valid pixels (both maps > 0),
    solving scale and shift by least squares on each sample, and taking the
    median scale and the median shift over the repetitions. The paper gives
    neither the number of fits nor the sample size; ``num_fits`` and
    ``num_samples`` are therefore explicit arguments, and ``seed`` makes the
    draw reproducible (a private generator, the global RNG is untouched).

    Args:
        pred: (H, W) or (1, H, W) prediction; disparity-like when
            ``space='disparity'``, depth-like when ``space='depth'``.
        gt: metric depth in metres.
        mask: bool, pixels allowed in the samples.
        num_fits: number of repeated fits.
        num_samples: pixels per fit (all valid pixels if fewer).
        space: 'disparity' fits ``s*pred+t ~ 1/gt`` and returns depth
            ``1 / max(s*pred+t, min_disparity)``; 'depth' fits
            ``s*pred+t ~ gt``.

    Returns:
        (aligned_depth, median_scale, median_shift).
    """
    fn = 'align_depth_repeated_median'
    if space not in ('disparity', 'depth'):
        raise ValueError(f"{fn}: space must be 'disparity' or 'depth', "
                         f'got {space!r}')
    if num_fits < 1 or num_samples < 2:
        raise ValueError(f'{fn}: need num_fits >= 1 and num_samples >= 2, '
                         f'got {num_fits}, {num_samples}')
    p, g, m = _check(pred, gt, mask, fn)
    m = m & (g > 0) & (p > 0)
    ps, gs, ms = downsample_for_alignment([p, g, m], max_resolution,
                                          downsample)
    _need_pixels(ms, fn)
    pv, gv = ps[ms], gs[ms]
    if space == 'disparity':
        gv = 1.0 / gv
    rng = np.random.default_rng(seed)
    scales, shifts = [], []
    for _ in range(num_fits):
        if pv.size > num_samples:
            idx = rng.choice(pv.size, size=num_samples, replace=False)
            s, t = _fit_scale_shift(pv[idx], gv[idx])
        else:
            s, t = _fit_scale_shift(pv, gv)
        scales.append(s)
        shifts.append(t)
    scale, shift = float(np.median(scales)), float(np.median(shifts))
    aligned = p * scale + shift
    if space == 'disparity':
        aligned = 1.0 / np.maximum(aligned, min_disparity)
    return _like_pred(aligned, pred), scale, shift
