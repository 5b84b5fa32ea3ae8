"""The contract every fusion follows: trainable parts, a frozen backbone."""
from typing import Iterator, Sequence, Union

import torch.nn as nn
from mmengine.model import BaseModule

from unidense.diffusion.freezing import (FrozenPartsMixin, freeze,
                                         unmark_frozen)
from unidense.registry import MODELS


class BaseFusion(FrozenPartsMixin, BaseModule):
    """Trainable modules placed around a built, frozen backbone.

    One rule for how a fusion receives its backbone, so that a new fusion
    (JointNet's zero-conv exchange, MERGE's converters, a ControlNet-like
    branch) is one file and one config and never edits a backbone file:

    * ``backbone`` is a built module (normally the estimator's
      ``self.backbone``) or a MODELS config dict.
    * A **built** backbone is *borrowed*: the fusion keeps a plain reference
      (:attr:`backbone`), not a sub-module, so the estimator owns it - its
      weights appear once in the estimator's state dict, not again under
      ``fusion.`` and not in the trainable checkpoint.
    * A **config** is built here and *owned*: it is the sub-module
      ``owned_backbone`` (for using a fusion on its own).
    * Either way the fusion freezes the backbone (:func:`freeze`: no
      gradients, eval mode kept across ``train()``): a fusion trains only
      its own parts. :meth:`trainable_children` are made trainable by
      :meth:`make_own_parts_trainable` - copies of frozen modules (a copied
      patch embedding or output head) arrive with ``requires_grad=False``.
    * ``required_backbone_attrs`` names what the fusion calls on the
      backbone; a backbone without them is refused with a ``TypeError``
      when the fusion is built, not deep inside a forward.

    Subclasses build their modules in ``__init__`` after ``super().__init__``
    and call :meth:`make_own_parts_trainable` at the end; ``forward``
    documents its own tensors.

    Args:
        backbone (nn.Module | dict): the frozen backbone or its config.
        init_cfg (dict, optional): mmengine init config.
    """

    required_backbone_attrs: Sequence[str] = ()

    def __init__(self, backbone: Union[nn.Module, dict], init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(backbone, dict):
            backbone = MODELS.build(backbone)
            self.owned_backbone = backbone
        missing = [a for a in self.required_backbone_attrs
                   if not hasattr(backbone, a)]
        if not isinstance(backbone, nn.Module) or missing:
            raise TypeError(
                f'{type(self).__name__}: the backbone must be a module with '
                f'{", ".join(self.required_backbone_attrs) or "parameters"}'
                f'; {type(backbone).__name__} lacks {", ".join(missing)}')
        freeze(backbone)
        # a plain attribute, not a sub-module: the estimator owns the frozen
        # model, and its state_dict must not be duplicated here
        object.__setattr__(self, '_backbone', backbone)

    @property
    def backbone(self) -> nn.Module:
        """The frozen backbone (borrowed or owned)."""
        return self._backbone

    def trainable_children(self) -> Iterator[nn.Module]:
        """The fusion's own modules (everything but an owned backbone)."""
        for name, module in self.named_children():
            if name != 'owned_backbone':
                yield module

    def make_own_parts_trainable(self) -> None:
        """``requires_grad=True`` on :meth:`trainable_children`."""
        for module in self.trainable_children():
            unmark_frozen(module)
            module.requires_grad_(True)
