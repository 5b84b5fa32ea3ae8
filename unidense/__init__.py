"""unidense: unified diffusion models for generation and dense perception."""
from .version import __version__

__all__ = ['__version__']
