"""Frozen means frozen: the one place that freezes a module and keeps it so.

A frozen part (a pretrained denoiser, VAE or text encoder) has
``requires_grad=False`` and stays in eval mode even when a parent is put in
train mode (runners call ``model.train()`` before every training iteration;
dropout in a frozen network would make it a different function). Every
container that holds frozen parts calls :func:`keep_frozen_in_eval` at the
end of its ``train``; :func:`freeze` marks the module so that call finds it.
"""
import torch.nn as nn

# attribute set on a frozen module (a plain bool: no state-dict entry)
_FROZEN_MARK = '_unidense_frozen'


def freeze(module: nn.Module) -> nn.Module:
    """``requires_grad_(False)`` + ``eval()`` and mark the module frozen.

    Returns the module, so ``self.vae = freeze(build(...))`` reads well.
    """
    module.requires_grad_(False)
    module.eval()
    setattr(module, _FROZEN_MARK, True)
    return module


class FrozenPartsMixin:
    """For mmengine modules that hold frozen pretrained parts.

    ``train(mode)`` keeps every frozen part in eval mode
    (:func:`keep_frozen_in_eval`), and ``init_weights`` leaves the parts
    alone unless an ``init_cfg`` is given: their weights come from
    ``from_pretrained``, diffusers' own init or copies made at build time,
    which mmengine's recursive init must not overwrite. List it before the
    mmengine base class: ``class X(FrozenPartsMixin, BaseModule)``.
    """

    def train(self, mode: bool = True):
        super().train(mode)
        return keep_frozen_in_eval(self)

    def init_weights(self):
        if self.init_cfg is not None:
            super().init_weights()


def unmark_frozen(module: nn.Module) -> nn.Module:
    """Drop the frozen mark of ``module`` and its children (e.g. on a copy
    of a frozen network that is to be fine-tuned); ``requires_grad`` is left
    to the caller."""
    for child in module.modules():
        if is_frozen(child):
            delattr(child, _FROZEN_MARK)
    return module


def is_frozen(module: nn.Module) -> bool:
    """True for a module :func:`freeze` marked."""
    return bool(getattr(module, _FROZEN_MARK, False))


def keep_frozen_in_eval(root: nn.Module) -> nn.Module:
    """Put every frozen module under ``root`` (``root`` too) back into eval.

    Call it at the end of an overridden ``train(mode)``.
    """
    for module in root.modules():
        if is_frozen(module):
            # nn.Module's own train(False): a frozen module that overrides
            # train() with this very call must not re-enter it
            nn.Module.train(module, False)
    return root
