"""unidense: unified diffusion models for generation and dense perception."""
import os as _os

from .version import __version__

# mmengine.runner imports DeepSpeed whenever it is installed (the optional
# extra); on a machine without CUDA DeepSpeed then guesses its accelerator
# and prints a warning on stdout in every process. Tell it the answer.
if 'DS_ACCELERATOR' not in _os.environ:
    import torch as _torch
    if not _torch.cuda.is_available():
        _os.environ['DS_ACCELERATOR'] = 'cpu'

__all__ = ['__version__']
