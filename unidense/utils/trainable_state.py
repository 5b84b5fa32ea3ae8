"""Which entries of a model's state dict belong in a training checkpoint.

unidense models wrap large frozen pretrained networks (VAE, text encoders,
UNet/DiT) and train small parts around them. Frozen weights are rebuilt from
the config (``from_pretrained``), so a training checkpoint keeps only

* parameters with ``requires_grad=True``,
* buffers that belong to trained parts: the buffer's module, or its
  nearest ancestor that holds any parameter, holds a trainable one (running
  statistics of BatchNorm - also ``affine=False`` ones inside a trained
  block - and spectral-norm power-iteration vectors change with training;
  buffers inside frozen networks do not), and
* everything inside averaged-model copies (``mmengine.model.BaseAveragedModel``,
  e.g. EMA), whose parameters are frozen on purpose but are trained state.
"""
from typing import Callable, Dict, List, Sequence, Set

import torch.nn as nn


def _averaged_model_types():
    try:
        from mmengine.model import BaseAveragedModel
        return (BaseAveragedModel, )
    except ImportError:  # pragma: no cover
        return ()


def _subtree_flags(model: nn.Module):
    """``{module name: (has parameters, has trainable parameters)}`` over
    each module's whole subtree."""
    flags = {}
    for name, module in model.named_modules(remove_duplicate=False):
        params = list(module.parameters())
        flags[name] = (bool(params), any(p.requires_grad for p in params))
    return flags


def _buffer_is_trained(mod_name: str, flags) -> bool:
    """Is the nearest module at or above ``mod_name`` that holds parameters
    a trained one?"""
    name = mod_name
    while True:
        has_params, has_trainable = flags.get(name, (False, False))
        if has_params:
            return has_trainable
        if not name:
            return False
        name = name.rpartition('.')[0]


def trainable_state_keys(model: nn.Module) -> Set[str]:
    """State-dict keys of ``model`` that a trainable-only checkpoint keeps."""
    keep: Set[str] = set()
    averaged = _averaged_model_types()
    state_keys = set(model.state_dict().keys())
    flags = _subtree_flags(model)
    for mod_name, module in model.named_modules(remove_duplicate=False):
        prefix = f'{mod_name}.' if mod_name else ''
        if averaged and isinstance(module, averaged):
            keep.update(k for k in state_keys if k.startswith(prefix))
            continue
        keep.update(prefix + n for n, p in module.named_parameters(
            recurse=False) if p.requires_grad)
        buffers = [n for n, _ in module.named_buffers(recurse=False)]
        if buffers and _buffer_is_trained(mod_name, flags):
            keep.update(prefix + n for n in buffers)
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


def summarise_keys(keys: Sequence[str], shown: int = 8) -> str:
    """``keys`` for a message: all of them when few, else the first
    ``shown`` and the count per two-level prefix (a stage-2 JointNet
    checkpoint would otherwise print 300 UNet keys)."""
    keys = list(keys)
    if len(keys) <= shown + 4:
        return str(keys)
    prefixes = {}
    for key in keys:
        prefix = '.'.join(key.split('.')[:2])
        prefixes[prefix] = prefixes.get(prefix, 0) + 1
    groups = ', '.join(f'{p}.* ({n})' for p, n in prefixes.items())
    return f'{keys[:shown]} ... {len(keys)} in all: {groups}'


def _revised_keys(state, revise_keys):
    """``state`` with each ``(pattern, replacement)`` regex applied to its
    keys, keeping its ``_metadata``."""
    import re
    revised = type(state)() if isinstance(state, dict) else {}
    for key, value in state.items():
        for pattern, repl in revise_keys:
            key = re.sub(pattern, repl, key)
        revised[key] = value
    metadata = getattr(state, '_metadata', None)
    if metadata is not None:
        revised._metadata = metadata
    return revised


def load_trainable_checkpoint(model: nn.Module,
                              checkpoint,
                              filename: str,
                              revise_keys=((r'^module\.', ''), ),
                              strict: bool = False,
                              resuming: bool = False,
                              warn: Callable[[str], None] = None,
                              prepare_state: Callable[[Dict], Dict] = None):
    """Load a (possibly trainable-only) unidense checkpoint into ``model``.

    Frozen weights come from the config build (``from_pretrained``), so a
    checkpoint that holds only trainable weights loads without complaint.
    Missing *trainable* keys or unexpected keys raise with ``strict`` (or,
    for missing trainable keys, when ``resuming``) and warn otherwise; the
    message names ``filename`` and the keys.

    Args:
        model: the unwrapped model (or a wrapper whose
            ``checkpoint_module()`` is the model the checkpoint belongs to).
        checkpoint: the loaded checkpoint (a dict with ``state_dict``, or a
            plain state dict).
        filename: for messages.
        revise_keys: ``(pattern, replacement)`` regexes applied to keys.
        warn: called with non-fatal messages (default ``warnings.warn``).
        prepare_state: applied to the (key-revised) state dict before
            loading, e.g. to cut full tensors into FSDP shards.

    Returns:
        the ``load_state_dict`` result (missing / unexpected keys).
    """
    import warnings
    warn = warn or (lambda msg: warnings.warn(msg, stacklevel=3))
    # wrappers that evaluate another model (GenerationEvaluator) load that
    # model's own checkpoints into it
    if hasattr(model, 'checkpoint_module'):
        model = model.checkpoint_module()
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else checkpoint
    revised = _revised_keys(state, revise_keys)
    if prepare_state is not None:
        revised = prepare_state(revised)
    try:
        result = model.load_state_dict(revised, strict=False)
    except RuntimeError as err:       # shape mismatches, named per key
        raise RuntimeError(f'Checkpoint {filename} does not fit the model: '
                           f'{err}') from err

    problems = []
    # what the model reports missing (a model's load_state_dict pre-hooks
    # may rename keys, e.g. OneStepEstimator taking its estimator's layout)
    missing = set(result.missing_keys)
    missing_train = sorted(k for k in trainable_state_keys(model)
                           if k in missing)
    if missing_train:
        problems.append(
            f'missing trainable keys: {summarise_keys(missing_train)}')
    trainable_only = bool(
        isinstance(checkpoint, dict) and checkpoint.get('meta', {}).get(
            'unidense', {}).get('trainable_only', False))
    if not trainable_only:
        keep = trainable_state_keys(model)
        frozen_missing = [k for k in result.missing_keys if k not in keep]
        if frozen_missing:
            warn(f'{filename}: missing frozen keys (kept from the config '
                 f'build): {summarise_keys(frozen_missing)}')
    if result.unexpected_keys:
        problems.append(
            f'unexpected keys: {summarise_keys(result.unexpected_keys)}')
    if problems:
        msg = f'Checkpoint {filename} does not match the model: ' + \
            '; '.join(problems)
        if strict or (resuming and missing_train):
            raise RuntimeError(msg)
        warn(msg)
    return result
