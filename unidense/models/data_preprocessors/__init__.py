"""Data preprocessors (MODELS)."""
from .dense_data_preprocessor import DenseDataPreprocessor

__all__ = ['DenseDataPreprocessor']
