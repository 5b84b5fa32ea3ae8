"""Mixed precision by autocast only, for devices where AmpOptimWrapper fails.

mmengine's ``AmpOptimWrapper`` asserts a GPU/NPU/MLU/MUSA device, so ``--amp``
crashed on CPU machines. bfloat16 has float32's exponent range, so it needs no
loss scaling: an autocast context around the forward pass is all AMP means
here. ``UnidenseRunner`` swaps ``AmpOptimWrapper`` for this wrapper when no
CUDA device is present; on CUDA mmengine's wrapper is used unchanged.
"""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from unidense.registry import OPTIM_WRAPPERS

_DTYPES = dict(bfloat16=torch.bfloat16, float16=torch.float16)


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` autocasts the forward pass.

    Args:
        dtype (str): ``'bfloat16'`` (default) or ``'float16'``.
        device_type (str): Autocast device, ``'cpu'`` (default) or ``'cuda'``.
        **kwargs: ``OptimWrapper`` arguments (``optimizer``, ``clip_grad``,
            ``accumulative_counts``).
    """

    def __init__(self, dtype: str = 'bfloat16', device_type: str = 'cpu',
                 **kwargs):
        super().__init__(**kwargs)
        if dtype not in _DTYPES:
            raise ValueError(f'AutocastOptimWrapper: dtype must be one of '
                             f'{sorted(_DTYPES)}, got {dtype!r}')
        self.cast_dtype = _DTYPES[dtype]
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model):
            with torch.autocast(device_type=self.device_type,
                                dtype=self.cast_dtype):
                yield
