"""AdamW with 8-bit optimizer state (bitsandbytes), an optional extra."""
import torch

from unidense.registry import OPTIMIZERS


@OPTIMIZERS.register_module()
class AdamW8bit:
    """``optimizer=dict(type='AdamW8bit', lr=1e-4, ...)``: bitsandbytes'
    ``AdamW8bit`` (AdamW's two moments quantised blockwise to 8 bits: about
    a quarter of fp32 AdamW's state memory, 2 bytes instead of 8 per
    trainable parameter). Arguments as ``torch.optim.AdamW``; extra ones go
    to bitsandbytes.

    Needs the optional ``bitsandbytes`` package (``pip install -r
    requirements/bnb.txt``) and a CUDA GPU; without either, building it
    raises an error that says which and what to use instead.
    """

    def __new__(cls, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                weight_decay=1e-2, **kwargs):
        try:
            import bitsandbytes as bnb
        except ImportError as err:
            raise ImportError(
                "AdamW8bit needs the optional package 'bitsandbytes' (pip "
                "install -r requirements/bnb.txt) and a CUDA GPU; use "
                "optimizer type 'AdamW' otherwise") from err
        if not torch.cuda.is_available():
            raise RuntimeError(
                "AdamW8bit: bitsandbytes' 8-bit optimizers run on CUDA GPUs "
                "and none is available here; use optimizer type 'AdamW'")
        return bnb.optim.AdamW8bit(params, lr=lr, betas=betas, eps=eps,
                                   weight_decay=weight_decay, **kwargs)
