"""Evaluation: metrics with the published protocols."""
from . import metrics

__all__ = ['metrics']
