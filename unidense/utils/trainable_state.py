"""Which entries of a model's state dict belong in a training checkpoint.

unidense models wrap large frozen pretrained networks (VAE, text encoders,
UNet/DiT) and train small parts around them. Frozen weights are rebuilt from
the config (``from_pretrained``), so a training checkpoint keeps only

* parameters with ``requires_grad=True``,
* buffers of modules that own such a parameter directly (their running
  statistics change with training), and
* everything inside averaged-model copies (``mmengine.model.BaseAveragedModel``,
  e.g. EMA), whose parameters are frozen on purpose but are trained state.
"""
from typing import Dict, List, Set

import torch.nn as nn


def _averaged_model_types():
    try:
        from mmengine.model import BaseAveragedModel
        return (BaseAveragedModel, )
    except ImportError:  # pragma: no cover
        return ()


def trainable_state_keys(model: nn.Module) -> Set[str]:
    """State-dict keys of ``model`` that a trainable-only checkpoint keeps."""
    keep: Set[str] = set()
    averaged = _averaged_model_types()
    state_keys = set(model.state_dict().keys())
    for mod_name, module in model.named_modules(remove_duplicate=False):
        prefix = f'{mod_name}.' if mod_name else ''
        if averaged and isinstance(module, averaged):
            keep.update(k for k in state_keys if k.startswith(prefix))
            continue
        own_params = list(module.named_parameters(recurse=False))
        if not any(p.requires_grad for _, p in own_params):
            continue
        keep.update(prefix + n for n, p in own_params if p.requires_grad)
        keep.update(prefix + n for n, _ in module.named_buffers(recurse=False))
    # Only names that really appear in state_dict (non-persistent buffers and
    # modules with custom state_dict hooks are excluded / respected).
    return keep & state_keys


def trainable_state_dict(model: nn.Module) -> Dict:
    """``model.state_dict()`` restricted to :func:`trainable_state_keys`.

    Falls back to the full state dict when nothing is trainable (e.g. a model
    saved only for evaluation), so a checkpoint is never empty.
    """
    state = model.state_dict()
    keep = trainable_state_keys(model)
    if not keep:
        return state
    return type(state)((k, v) for k, v in state.items() if k in keep)


def missing_trainable_keys(model: nn.Module, loaded_keys) -> List[str]:
    """Trainable keys of ``model`` absent from ``loaded_keys`` (sorted)."""
    loaded = set(loaded_keys)
    return sorted(k for k in trainable_state_keys(model) if k not in loaded)
