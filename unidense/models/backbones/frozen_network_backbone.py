"""Base class of backbones that own one pretrained diffusers network."""
from typing import Optional, Sequence, Union

import torch.nn as nn
from mmengine.model import BaseModule

from unidense.diffusion.freezing import (FrozenPartsMixin, freeze,
                                         unmark_frozen)
from unidense.registry import MODELS


class FrozenNetworkBackbone(FrozenPartsMixin, BaseModule):
    """A backbone wrapping one pretrained network that may be frozen.

    Subclasses name the attribute holding the network in ``network_attr``
    and call :meth:`set_network` with the network or its config. A frozen
    network has
    ``requires_grad=False`` and stays in eval mode when the backbone is put
    in train mode (runners call ``model.train()`` before every training
    iteration; dropout in a frozen network would make it a different
    function). ``init_weights`` leaves the network alone unless an
    ``init_cfg`` is given: its weights come from ``from_pretrained`` or from
    diffusers' own random init, which mmengine's recursive init must not
    overwrite.
    """

    network_attr = '_network'

    def __init__(self, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.frozen = False

    def set_network(self,
                    network: Union[dict, nn.Module],
                    frozen: bool,
                    expected: Optional[str] = None,
                    required_attrs: Sequence[str] = ()) -> nn.Module:
        """Build ``network`` if it is a config, check it, store and freeze it.

        Args:
            network: a module or a MODELS config dict.
            frozen: freeze it (see the class doc).
            expected: class name used in the error message.
            required_attrs: attributes the module must have; a module
                without them raises ``TypeError`` naming ``expected``.

        Returns:
            The module.
        """
        if isinstance(network, dict):
            network = MODELS.build(network)
        missing = [a for a in required_attrs if not hasattr(network, a)]
        if not isinstance(network, nn.Module) or missing:
            raise TypeError(
                f'{type(self).__name__}: `{self.network_attr}` must build a '
                f'diffusers {expected or "module"} (with '
                f'{", ".join(required_attrs) or "parameters"}), got '
                f'{type(network).__name__}')
        setattr(self, self.network_attr, network)
        self.frozen = bool(frozen)
        if self.frozen:
            freeze(network)
        else:
            # a copy of a frozen network arrives marked; here it trains
            unmark_frozen(network)
        return network

    @property
    def network(self) -> nn.Module:
        """The plain diffusers network, whatever ``network_attr`` names it
        (e.g. for a text-to-image pipeline built on it)."""
        return getattr(self, self.network_attr)
