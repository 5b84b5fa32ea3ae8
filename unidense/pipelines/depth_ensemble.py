"""Marigold's test-time ensembling of affine-invariant depth predictions.

Members of an ensemble (different noise seeds) agree only up to an unknown
scale and shift each. ``ensemble_depth`` finds per-member (s_i, t_i) that
minimise the summed pairwise RMS difference of the aligned members, plus a
small regulariser (strength 0.02) pulling the reduced map's min/max to 0/1
so the trivial solution s = 0 is avoided; it then reduces the aligned
members by median (default) or mean and renormalises to [0, 1].

Two solvers, both scipy BFGS on a copy shrunk to ``max_res`` on the longer
edge (the scales and shifts are then applied at full resolution):

* ``solver='diffusers'`` (default) is diffusers'
  ``MarigoldDepthPipeline.ensemble_depth`` step for step: float32 cost,
  finite-difference gradients, the copy shrunk to ``floor(size * max_res /
  max_edge)``, the min->0 pull also for scale-only depth, and no guard
  against a flipped scale. The same inputs give its output (a test compares
  them directly), so numbers match the pipeline users compare against.
* ``solver='analytic'``: the same objective in float64 with analytic
  gradients from torch (fewer cost evaluations: E-fold faster per BFGS
  step for E members), the min->0 pull only for affine-invariant depth, and
  the min-max start kept if the fit flips or kills a scale. With the
  default two BFGS steps it lands elsewhere than diffusers (up to ~0.015 on
  random members); with ``max_iter=50`` both reach the same optimum.

Both work under ``torch.no_grad()`` and ``torch.inference_mode()``.
"""
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import minimize
from torch import Tensor

from unidense.registry import TASK_UTILS

# Keeps sqrt differentiable where two members already coincide (its
# gradient is infinite at 0); far below any depth difference that matters.
_SQRT_EPS = 1e-12


def _reduce(x: Tensor, reduction: str) -> Tensor:
    if reduction == 'median':
        return x.median(dim=0, keepdim=True).values
    return x.mean(dim=0, keepdim=True)


def _initial_params(depth: Tensor, scale_invariant: bool,
                    shift_invariant: bool) -> np.ndarray:
    flat = depth.reshape(depth.shape[0], -1)
    lo, hi = flat.min(dim=1).values, flat.max(dim=1).values
    if scale_invariant and shift_invariant:
        # map each member to [0, 1] so the search starts roughly aligned
        s = 1.0 / (hi - lo).clamp_min(1e-6)
        t = -s * lo
        return torch.cat([s, t]).cpu().numpy()
    if scale_invariant:
        return (1.0 / hi.clamp_min(1e-6)).cpu().numpy()
    raise ValueError('ensemble_depth: shift-only invariance is not supported')


def _align(depth: Tensor, params: Tensor, scale_invariant: bool,
           shift_invariant: bool) -> Tensor:
    e = depth.shape[0]
    view = (e, ) + (1, ) * (depth.ndim - 1)
    if scale_invariant and shift_invariant:
        return depth * params[:e].view(view) + params[e:].view(view)
    return depth * params.view(view)


def _fit_alignment(depth: Tensor, shift_invariant: bool, reduction: str,
                   regularizer_strength: float, max_iter: int, tol: float,
                   max_res: Optional[int]) -> Tensor:
    """Per-member scale (and shift) minimising the pairwise disagreement of
    the aligned (E, 1, H, W) members plus the min->0 / max->1 pull (BFGS on a
    copy shrunk to ``max_res``); (E,) or (2E,) parameters on depth's
    device."""
    scale_invariant = True
    e = depth.shape[0]
    small = depth
    if max_res is not None and max(depth.shape[-2:]) > max_res:
        factor = max_res / max(depth.shape[-2:])
        small = F.interpolate(depth, scale_factor=factor,
                              mode='nearest-exact')
    # Estimators call this under no_grad / inference_mode; the fit
    # needs autograd on a normal (non-inference) tensor of its own.
    with torch.inference_mode(False):
        small = small.detach().cpu().clone()
        pairs = torch.triu_indices(e, e, offset=1)

    def cost(x: np.ndarray):
        with torch.inference_mode(False), torch.enable_grad():
            params = torch.from_numpy(x).requires_grad_(True)
            aligned = _align(small, params, scale_invariant,
                             shift_invariant)
            diff = aligned[pairs[0]] - aligned[pairs[1]]
            err = (diff.pow(2).flatten(1).mean(1) +
                   _SQRT_EPS).sqrt().sum()
            pred = _reduce(aligned, reduction)
            near = (0.0 - pred.min()).abs()
            far = (1.0 - pred.max()).abs()
            reg = near + far if shift_invariant else far
            err = err + regularizer_strength * reg
            err.backward()
        return err.item(), params.grad.numpy().copy()

    x0 = _initial_params(small, scale_invariant, shift_invariant)
    res = minimize(cost, x0, jac=True, method='BFGS', tol=tol,
                   options=dict(maxiter=max_iter, disp=False))
    params = torch.from_numpy(res.x)
    if not torch.isfinite(params).all() or (params[:e] <= 0).any():
        # The objective prefers shrinking every member towards one
        # constant when members disagree a lot (pairwise error scales
        # with s, the regulariser only costs 0.02); a flipped or
        # vanished scale means that happened, so keep the min-max start.
        params = torch.from_numpy(x0)
    return params.to(depth.device)


def _fit_alignment_diffusers(depth: Tensor, shift_invariant: bool,
                             reduction: str, regularizer_strength: float,
                             max_iter: int, tol: float,
                             max_res: Optional[int]) -> Tensor:
    """diffusers' Marigold fit (see the module doc), parameters (E,) or
    (2E,) float64 on depth's device."""
    e = depth.shape[0]
    small = depth.detach().float().cpu()
    if max_res is not None and max(small.shape[-2:]) > max_res:
        h, w = small.shape[-2:]
        size = (h * max_res // max(h, w), w * max_res // max(h, w))
        small = F.interpolate(small, size, mode='nearest-exact')
    pairs = torch.combinations(torch.arange(e))

    def cost(x: np.ndarray) -> float:
        aligned = _align(small, torch.from_numpy(x).float(), True,
                         shift_invariant)
        err = 0.0
        for i, j in pairs:
            err += (aligned[i] - aligned[j]).pow(2).mean().sqrt().item()
        if regularizer_strength > 0:
            pred = _reduce(aligned, reduction)
            err += (pred.min().abs().item() + (1.0 - pred.max()).abs()
                    .item()) * regularizer_strength
        return err

    x0 = _initial_params(small, True, shift_invariant).astype(np.float64)
    res = minimize(cost, x0, method='BFGS', tol=tol,
                   options=dict(maxiter=max_iter, disp=False))
    return torch.from_numpy(res.x).to(depth.device)


def _reduce_and_normalise(depth: Tensor, reduction: str,
                          output_uncertainty: bool, scale_invariant: bool,
                          shift_invariant: bool):
    """Median / mean of the aligned members, its spread, and the [0, 1]
    (or max = 1) normalisation of affine- (scale-) invariant depth."""
    out = _reduce(depth, reduction)
    unc = None
    if output_uncertainty:
        if reduction == 'median':
            unc = (depth - out).abs().median(dim=0, keepdim=True).values
        else:
            unc = depth.std(dim=0, keepdim=True)

    if scale_invariant and shift_invariant:
        lo, hi = out.min(), out.max()
        span = (hi - lo).clamp_min(1e-6)
        out = (out - lo) / span
        if unc is not None:
            unc = unc / span
    elif scale_invariant:
        span = out.max().clamp_min(1e-6)
        out = out / span
        if unc is not None:
            unc = unc / span
    return out, unc


def ensemble_depth(depth: Tensor,
                   scale_invariant: bool = True,
                   shift_invariant: bool = True,
                   output_uncertainty: bool = False,
                   reduction: str = 'median',
                   regularizer_strength: float = 0.02,
                   max_iter: int = 2,
                   tol: float = 1e-3,
                   max_res: Optional[int] = 1024,
                   solver: str = 'diffusers'
                   ) -> Tuple[Tensor, Optional[Tensor]]:
    """Ensemble E depth predictions of one image.

    Args:
        depth: (E, 1, H, W) members, affine-invariant depth (Marigold's
            [0, 1] maps, 0 = near); any finite range works.
        scale_invariant, shift_invariant (bool): which of scale/shift are
            unknown per member. Both True for affine-invariant depth; both
            False averages the raw members (metric depth).
        output_uncertainty (bool): also return the spread of the aligned
            members: median absolute deviation for ``'median'``, standard
            deviation for ``'mean'``.
        reduction (str): ``'median'`` or ``'mean'``.
        regularizer_strength (float): weight of the min->0 / max->1 pull.
        max_iter (int), tol (float): BFGS options; defaults 2 and 1e-3 as
            Marigold's docstring and diffusers' MarigoldDepthPipeline (the
            Marigold repository's code uses 50 and 1e-6). If the solver
            returns a non-positive scale, the min-max initialisation is kept.
        max_res (int | None): longer edge of the copy used to fit the
            alignment; None = full resolution.
        solver (str): 'diffusers' (exactly diffusers' Marigold ensembling)
            or 'analytic' (see the module doc).

    Returns:
        depth: (1, 1, H, W); in [0, 1] when scale and shift are invariant.
        uncertainty: (1, 1, H, W) in the same units, or None.
    """
    if depth.ndim != 4 or depth.shape[1] != 1:
        raise ValueError('ensemble_depth: depth must be (E, 1, H, W), got '
                         f'{tuple(depth.shape)}')
    if reduction not in ('median', 'mean'):
        raise ValueError("ensemble_depth: reduction must be 'median' or "
                         f"'mean', got {reduction!r}")
    if shift_invariant and not scale_invariant:
        raise ValueError('ensemble_depth: shift-only invariance is not '
                         'supported (set scale_invariant=True)')
    if not torch.isfinite(depth).all():
        raise ValueError('ensemble_depth: depth contains NaN or inf')
    if solver not in ('diffusers', 'analytic'):
        raise ValueError("ensemble_depth: solver must be 'diffusers' or "
                         f"'analytic', got {solver!r}")
    e = depth.shape[0]
    orig_dtype = depth.dtype
    depth = depth.double()
    if e == 1:
        unc = torch.zeros_like(depth) if output_uncertainty else None
        return depth.to(orig_dtype), (
            unc.to(orig_dtype) if unc is not None else None)

    if scale_invariant:
        fit = _fit_alignment if solver == 'analytic' else \
            _fit_alignment_diffusers
        params = fit(depth, shift_invariant, reduction,
                     regularizer_strength, max_iter, tol, max_res)
        depth = _align(depth, params, scale_invariant, shift_invariant)
    out, unc = _reduce_and_normalise(depth, reduction, output_uncertainty,
                                     scale_invariant, shift_invariant)
    return out.to(orig_dtype), (unc.to(orig_dtype) if unc is not None else
                                None)


@TASK_UTILS.register_module()
class DepthEnsemble:
    """Config-buildable wrapper of :func:`ensemble_depth`.

    ``TASK_UTILS.build(dict(type='DepthEnsemble', reduction='median'))``
    gives a callable ``(E, 1, H, W) -> ((1, 1, H, W), uncertainty | None)``
    for an estimator's ``test_cfg``. Arguments as in
    :func:`ensemble_depth`.
    """

    def __init__(self,
                 scale_invariant: bool = True,
                 shift_invariant: bool = True,
                 output_uncertainty: bool = False,
                 reduction: str = 'median',
                 regularizer_strength: float = 0.02,
                 max_iter: int = 2,
                 tol: float = 1e-3,
                 max_res: Optional[int] = 1024,
                 solver: str = 'diffusers'):
        if reduction not in ('median', 'mean'):
            raise ValueError("DepthEnsemble: reduction must be 'median' or "
                             f"'mean', got {reduction!r}")
        self.kwargs = dict(scale_invariant=scale_invariant,
                           shift_invariant=shift_invariant,
                           output_uncertainty=output_uncertainty,
                           reduction=reduction,
                           regularizer_strength=regularizer_strength,
                           max_iter=max_iter, tol=tol, max_res=max_res,
                           solver=solver)

    def __call__(self, depth: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        return ensemble_depth(depth, **self.kwargs)

    def __repr__(self):
        args = ', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())
        return f'{type(self).__name__}({args})'
