"""SD UNet denoiser with access to its down / mid / up intermediate tensors."""
import contextlib

import torch

from unidense.registry import MODELS
from .frozen_network_backbone import FrozenNetworkBackbone


def _tensor(out):
    """A block/layer output as a tensor (diffusers returns tuples/outputs)."""
    if torch.is_tensor(out):
        return out
    if hasattr(out, 'sample'):
        return out.sample
    return out[0]


@contextlib.contextmanager
def unet_taps(unet):
    """Record a diffusers ``UNet2DConditionModel``'s intermediate tensors.

    Forward hooks on ``conv_in``, ``down_blocks[i]``, ``mid_block`` and the
    layers of ``up_blocks[i]``, so diffusers' own forward runs unchanged.
    Yields a dict filled during the next forward call:

    - ``down``: the LDM "input blocks" in order: ``conv_in`` output, then per
      down block every (resnet[+attention]) layer output and the downsampler
      output - 12 tensors for SD (320@64^2 ... 1280@8^2 for a 64^2 latent).
    - ``mid``: ``[mid_block output]``.
    - ``up``: the LDM "output blocks": per up block each layer output, the
      last one after the block's upsampler - 12 tensors for SD.

    Tensors keep their autograd history (a trainable UNet back-propagates).
    """
    taps = dict(down=[], mid=[], up=[])
    handles = []

    def add(module, fn):
        handles.append(module.register_forward_hook(fn))

    add(unet.conv_in, lambda m, i, o: taps['down'].append(o))

    def down_hook(m, i, o):
        # (hidden_states, res_samples): res_samples are the per-layer
        # outputs and the downsampler output, i.e. the skip connections.
        taps['down'].extend(o[1])

    for block in unet.down_blocks:
        add(block, down_hook)
    add(unet.mid_block, lambda m, i, o: taps['mid'].append(_tensor(o)))

    for block in unet.up_blocks:
        n = len(block.resnets)
        attns = getattr(block, 'attentions', None)
        ups = getattr(block, 'upsamplers', None)
        for j in range(n):
            last = j == n - 1
            if last and ups:
                layer = ups[-1]
            elif attns is not None and len(attns) > j:
                layer = attns[j]
            else:
                layer = block.resnets[j]
            add(layer, lambda m, i, o: taps['up'].append(_tensor(o)))
    try:
        yield taps
    finally:
        for h in handles:
            h.remove()


@MODELS.register_module()
class SDUNet(FrozenNetworkBackbone):
    """Stable Diffusion denoiser (diffusers ``UNet2DConditionModel``).

    Args:
        unet (dict | nn.Module): ``UNet2DConditionModel`` config (see
            ``configs/_base_/models/sd15.py``) or a built module.
        frozen (bool): requires_grad False + eval; the forward then builds
            no autograd graph. Defaults to False.

    ``forward(sample (B, C_in, h, w), timestep (B,) or int,
    encoder_hidden_states (B, L, D), return_features=False, **kwargs)``
    returns the prediction (B, C_out, h, w) (epsilon / v as trained), and
    with ``return_features=True`` a tuple ``(pred, feats)`` where ``feats``
    is the dict of :func:`unet_taps` (``down``/``mid``/``up`` lists of
    (B, C_k, h / 2^l, w / 2^l) tensors). Extra kwargs (``added_cond_kwargs``,
    ``down_block_additional_residuals`` ...) go to diffusers' forward.
    """

    network_attr = 'unet'

    def __init__(self, unet, frozen=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.set_network(unet, frozen, expected='UNet2DConditionModel',
                         required_attrs=('down_blocks', 'mid_block',
                                         'up_blocks'))

    @property
    def config(self):
        return self.unet.config

    def forward(self, sample, timestep, encoder_hidden_states,
                return_features=False, **kwargs):
        cfg = self.unet.config
        if sample.dim() != 4 or sample.shape[1] != cfg.in_channels:
            raise ValueError(f'SDUNet: sample must be (B, {cfg.in_channels}, '
                             f'h, w), got {tuple(sample.shape)}')
        if (encoder_hidden_states.dim() != 3 or encoder_hidden_states.shape[-1]
                != cfg.cross_attention_dim):
            raise ValueError(
                'SDUNet: encoder_hidden_states must be (B, L, '
                f'{cfg.cross_attention_dim}), got '
                f'{tuple(encoder_hidden_states.shape)}')
        grad = torch.is_grad_enabled() and not self.frozen
        with torch.set_grad_enabled(grad):
            if not return_features:
                return self.unet(sample, timestep, encoder_hidden_states,
                                 return_dict=False, **kwargs)[0]
            with unet_taps(self.unet) as taps:
                pred = self.unet(sample, timestep, encoder_hidden_states,
                                 return_dict=False, **kwargs)[0]
        return pred, taps
