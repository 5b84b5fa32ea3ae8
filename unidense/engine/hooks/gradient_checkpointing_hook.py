"""Activation (gradient) checkpointing switched on from a config."""
from typing import List

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from unidense.registry import HOOKS


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
    covered, names = set(), []
    for name, module in model.named_modules():
        if id(module) in covered:
            continue
        if getattr(module, '_supports_gradient_checkpointing', False) and \
                hasattr(module, 'enable_gradient_checkpointing'):
            module.enable_gradient_checkpointing()
        elif hasattr(module, 'set_grad_checkpointing') and \
                hasattr(module, 'default_cfg'):
            module.set_grad_checkpointing(True)
        else:
            continue
        covered.update(id(m) for m in module.modules())
        names.append(name or type(module).__name__)
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
