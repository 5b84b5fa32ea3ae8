"""Data preprocessors (MODELS)."""
from .dense_data_preprocessor import DenseDataPreprocessor, built_preprocessor

__all__ = ['DenseDataPreprocessor', 'built_preprocessor']
