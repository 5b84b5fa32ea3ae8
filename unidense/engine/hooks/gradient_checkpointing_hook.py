"""Activation (gradient) checkpointing switched on from a config."""
from typing import Callable, Iterator, List, Tuple

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from unidense.registry import HOOKS


def outermost_modules(model: nn.Module, predicate: Callable
                      ) -> Iterator[Tuple[str, nn.Module]]:
    """``(dotted name, module)`` of the modules of ``model`` for which
    ``predicate(module)`` holds, outermost only: a match's submodules are
    not visited (a diffusers UNet, not each of its blocks)."""
    covered = set()
    for name, module in model.named_modules():
        if id(module) in covered or not predicate(module):
            continue
        covered.update(id(m) for m in module.modules())
        yield name or type(module).__name__, module


def _diffusers_checkpointing(module) -> bool:
    return getattr(module, '_supports_gradient_checkpointing', False) and \
        hasattr(module, 'enable_gradient_checkpointing')


def _timm_checkpointing(module) -> bool:
    return hasattr(module, 'set_grad_checkpointing') and \
        hasattr(module, 'default_cfg')


def enable_gradient_checkpointing(model: nn.Module) -> List[str]:
    """Turn on activation checkpointing in every network of ``model`` that
    supports it: diffusers models (``enable_gradient_checkpointing``; the
    UNet, PixArt and FLUX transformers, the VAE) and timm encoders
    (``set_grad_checkpointing``). Blocks then keep only their inputs and
    recompute activations in the backward pass: less memory, about one
    more forward of compute, the same gradients.

    Returns:
        the dotted names of the networks switched on (outermost only).
    """
    names = []
    for name, module in outermost_modules(
            model, lambda m: _diffusers_checkpointing(m) or
            _timm_checkpointing(m)):
        if _diffusers_checkpointing(module):
            module.enable_gradient_checkpointing()
        else:
            module.set_grad_checkpointing(True)
        names.append(name)
    return names


@HOOKS.register_module()
class GradientCheckpointingHook(Hook):
    """``custom_hooks = [dict(type='GradientCheckpointingHook')]``: before
    training, activation checkpointing in every backbone, trainable copy
    and encoder that supports it (see :func:`enable_gradient_checkpointing`).
    Frozen networks that gradients flow through (MERGE's DiT, JointNet's
    RGB UNet) gain the most: their activations are kept for the backward
    pass otherwise."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        names = enable_gradient_checkpointing(model)
        runner.logger.info('gradient checkpointing on: ' +
                           (', '.join(names) or 'nothing supports it'))
