from .unidense_runner import UnidenseRunner

__all__ = ['UnidenseRunner']
