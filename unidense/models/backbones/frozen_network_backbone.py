"""Base class of backbones that own one pretrained diffusers network."""
from typing import Optional

import torch.nn as nn
from mmengine.model import BaseModule


class FrozenNetworkBackbone(BaseModule):
    """A backbone wrapping one pretrained network that may be frozen.

    Subclasses name the attribute holding the network in ``network_attr``
    and call :meth:`set_network` once it is built. A frozen network has
    ``requires_grad=False`` and stays in eval mode when the backbone is put
    in train mode (runners call ``model.train()`` before every training
    iteration; dropout in a frozen network would make it a different
    function). ``init_weights`` leaves the network alone unless an
    ``init_cfg`` is given: its weights come from ``from_pretrained`` or from
    diffusers' own random init, which mmengine's recursive init must not
    overwrite.
    """

    network_attr = 'network'

    def __init__(self, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.frozen = False

    def set_network(self, network: nn.Module, frozen: bool) -> None:
        setattr(self, self.network_attr, network)
        self.frozen = bool(frozen)
        if self.frozen:
            network.requires_grad_(False)
            network.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            getattr(self, self.network_attr).eval()
        return self

    def init_weights(self):
        if self.init_cfg is not None:
            super().init_weights()
