"""Datasets (the DATASETS registry lists this package in ``locations``)."""
from . import transforms

__all__ = ['transforms']
