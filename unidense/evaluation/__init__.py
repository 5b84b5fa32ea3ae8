"""Evaluation: metrics with the published protocols, and the pure functions
(alignment, error measures) behind them."""
from . import functional, metrics
from .metrics import (DEPTH_PRESETS, DepthMetric, IoUMetric, MultiTaskMetric,
                      NormalMetric, SaliencyMetric)

__all__ = ['functional', 'metrics', 'DEPTH_PRESETS', 'DepthMetric',
           'IoUMetric', 'MultiTaskMetric', 'NormalMetric', 'SaliencyMetric']
