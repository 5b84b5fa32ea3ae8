"""Unit vectors and vector lengths along a channel dimension, fast on CPU.

torch's ``linalg.vector_norm`` (behind ``Tensor.norm`` and
``F.normalize``) reduces over a non-innermost dimension of a CPU tensor
through a slow generic path: 2.1 ms for the per-pixel length of an
(8, 3, 64, 64) normal map against 0.03 ms for ``sqrt(sum(x * x))`` (torch
2.14, 2 threads) - 19 % of a tiny Bae training step. These helpers compute
the same values (to float rounding) the fast way, in float32 at least, with
finite gradients at the zero vector.
"""
import torch

__all__ = ['vector_length', 'unit_vectors', 'cosine_similarity']


def _squared_length(x: torch.Tensor, dim: int) -> torch.Tensor:
    wide = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    return wide.square().sum(dim, keepdim=True)


def vector_length(x: torch.Tensor, dim: int = 1,
                  min_length: float = 1e-15) -> torch.Tensor:
    """``||x||_2`` along ``dim`` (kept as size 1), at least ``min_length``
    (so the gradient stays finite at the zero vector); ``x.dtype``."""
    squared = _squared_length(x, dim).clamp_min(min_length * min_length)
    return squared.sqrt().to(x.dtype)


def unit_vectors(x: torch.Tensor, dim: int = 1,
                 eps: float = 1e-12) -> torch.Tensor:
    """``F.normalize(x, dim=dim, eps=eps)``: ``x / max(||x||, eps)``."""
    squared = _squared_length(x, dim).clamp_min(eps * eps)
    return x / squared.sqrt().to(x.dtype)


def cosine_similarity(a: torch.Tensor, b: torch.Tensor, dim: int = 1,
                      eps: float = 1e-8) -> torch.Tensor:
    """``F.cosine_similarity(a, b, dim, eps)``: ``a . b / max(||a|| ||b||,
    eps)`` along ``dim`` (removed)."""
    squared = _squared_length(a, dim) * _squared_length(b, dim)
    dot = (a * b).sum(dim, keepdim=True)
    lengths = squared.clamp_min(eps * eps).sqrt().to(dot.dtype)
    return (dot / lengths).squeeze(dim)
