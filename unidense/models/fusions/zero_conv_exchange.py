"""JointNet's fusion: trainable UNet copies densely linked by zero convs.

Zhang et al., "JointNet: Extending Text-to-Image Diffusion for Dense
Distribution Modeling", ICLR 2024 (Fig. 2c). The frozen RGB UNet (the
borrowed backbone) and one trainable copy per joint modality (depth,
normals, ...) denoise their own latents; between their stages they exchange,
through zero-initialised convolutions,

1. the other branch's noisy latent (3x3 conv, C_lat -> C_0), added to the
   receiving branch's ``conv_in`` output (so it is also skip 0);
2. every encoder skip tensor (1x1 conv, C_k -> C_k), added to the receiving
   branch's skips before its decoder;
3. the mid-block output (1x1 conv, C_mid -> C_mid), added to the receiving
   branch's mid-block output.

Sends are computed from the sender's own (un-augmented) skips after both
encoders ran, as the official ``forward_down_mid`` / ``forward_up``. At
initialisation every conv is zero, so each branch predicts exactly what the
plain UNet predicts (the paper's output-preserving principle).

Several modalities: RGB is the hub. Each modality ``m`` has two directed
links, ``rgb_to_m`` and ``m_to_rgb``; the RGB branch receives the sum of
every modality's sends. With one modality this is the official two-branch
model (per link 11,491,520 parameters for SD-2.1, the official per-branch
extras).

A link holds everything that carries information from its source to its
target branch. Official key mapping (``tools/model_converters/
jointnet_official.py``): ``links.rgb_to_depth.input_conv`` =
``jointnet/jointnet_rgb_in_trans``, ``links.rgb_to_depth.skip_convs`` /
``mid_conv`` = ``unet/jointnet_down_blocks`` / ``jointnet_mid_block``; the
other direction swaps ``unet`` and ``jointnet``.

The inpainting model (``masked_input=True``) adds one zero 3x3 conv per
receiving branch over [own mask, own masked latent, then each other branch's
mask and masked latent] (10 channels with one modality, as the official
``jointnet_masked_latent_conv``), added to its ``conv_in`` output.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from unidense.registry import MODELS
from .base_fusion import BaseFusion

RGB = 'rgb'


def zero_conv(in_channels: int, out_channels: int,
              kernel_size: int = 1) -> nn.Conv2d:
    """A Conv2d with zero weight and bias ('same' padding)."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size,
                     padding=kernel_size // 2)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class ZeroConvLink(nn.Module):
    """The zero convs of one directed link (source -> target branch).

    ``input_conv``: (B, C_lat, h, w) source latent -> (B, C_0, h, w);
    ``skip_convs[k]``: source skip k (B, C_k, h_k, w_k) -> same shape;
    ``mid_conv``: source mid output -> same shape.
    """

    def __init__(self, latent_channels: int, skip_channels: Sequence[int],
                 mid_channels: int, input_kernel: int = 3):
        super().__init__()
        self.input_conv = zero_conv(latent_channels, skip_channels[0],
                                    input_kernel)
        self.skip_convs = nn.ModuleList(zero_conv(c, c)
                                        for c in skip_channels)
        self.mid_conv = zero_conv(mid_channels, mid_channels)


def unet_skip_channels(unet) -> Tuple[List[int], int]:
    """Channels of a diffusers UNet's encoder skips and of its mid output.

    ``conv_in``; per down block each layer (resnet [+ attention]) and the
    downsampler if any - 12 for SD (320 x 4, 640 x 3, 1280 x 5), read from
    the modules so it also holds on the meta device.
    """
    channels = [unet.conv_in.out_channels]
    for block in unet.down_blocks:
        channels += [r.out_channels for r in block.resnets]
        for down in (getattr(block, 'downsamplers', None) or []):
            channels.append(down.out_channels)
    return channels, unet.config.block_out_channels[-1]


@MODELS.register_module()
class ZeroConvExchange(BaseFusion):
    """Trainable UNet copies exchanging tensors with a frozen RGB UNet.

    Args:
        backbone (SDUNet | dict): the RGB branch (frozen, borrowed).
        modalities (sequence[str]): one trainable branch each, e.g.
            ``('depth',)`` (the paper) or ``('depth', 'normal')``.
        masked_input (bool): add the inpainting model's mask convs.
        init_cfg (dict, optional): mmengine init config.

    Branch order everywhere (channels of joint tensors, ``masks``):
    ``branch_names = ('rgb', *modalities)``.
    """

    required_backbone_attrs = ('prepare', 'run_down_block', 'run_mid_block',
                               'run_up_block', 'finalize', 'num_down_blocks',
                               'num_up_blocks', 'unet')

    def __init__(self, backbone, modalities: Sequence[str] = ('depth', ),
                 masked_input: bool = False, init_cfg=None):
        super().__init__(backbone, init_cfg=init_cfg)
        modalities = tuple(modalities)
        if not modalities or RGB in modalities or \
                len(set(modalities)) != len(modalities):
            raise ValueError(f'ZeroConvExchange: modalities={modalities} '
                             "must be distinct names other than 'rgb'")
        self.modalities = modalities
        unet = self.backbone.unet
        self.latent_channels = int(unet.config.in_channels)
        skips, mid = unet_skip_channels(unet)
        kernel = int(unet.config.conv_in_kernel)
        backbone_cls = type(self.backbone)
        # trainable copies of the (pretrained) RGB UNet, same stage API
        self.branches = nn.ModuleDict({
            m: backbone_cls(unet=copy.deepcopy(unet), frozen=False)
            for m in modalities
        })
        self.links = nn.ModuleDict()
        for m in modalities:
            for name in (f'{RGB}_to_{m}', f'{m}_to_{RGB}'):
                self.links[name] = ZeroConvLink(self.latent_channels, skips,
                                                mid, kernel)
        self.masked_input = bool(masked_input)
        if self.masked_input:
            per_branch = 1 + self.latent_channels
            self.mask_convs = nn.ModuleDict({
                name: zero_conv(per_branch * (1 + len(self.sources(name))),
                                skips[0], kernel)
                for name in self.branch_names
            })
        self.make_own_parts_trainable()

    # ------------------------------------------------------------ structure
    @property
    def branch_names(self) -> Tuple[str, ...]:
        return (RGB, ) + self.modalities

    @property
    def num_branches(self) -> int:
        return 1 + len(self.modalities)

    def sources(self, target: str) -> Tuple[str, ...]:
        """Branches that send to ``target`` (RGB <- every modality)."""
        return self.modalities if target == RGB else (RGB, )

    def network(self, name: str):
        """The SDUNet of branch ``name``."""
        return self.backbone if name == RGB else self.branches[name]

    def split(self, joint: Tensor) -> Dict[str, Tensor]:
        """(B, C * N, h, w) joint tensor -> {branch: (B, C, h, w)}."""
        c = self.latent_channels
        if joint.dim() != 4 or joint.shape[1] != c * self.num_branches:
            raise ValueError(
                f'ZeroConvExchange: expected a (B, {c * self.num_branches}, '
                f'h, w) joint latent ({"|".join(self.branch_names)}), got '
                f'{tuple(joint.shape)}')
        return dict(zip(self.branch_names, joint.split(c, dim=1)))

    def join(self, parts: Dict[str, Tensor]) -> Tensor:
        """{branch: (B, C, h, w)} -> (B, C * N, h, w) in branch order."""
        return torch.cat([parts[n] for n in self.branch_names], dim=1)

    # -------------------------------------------------------------- forward
    def _input_injection(self, name, latents, cond):
        """What branch ``name`` adds to its conv_in output, or None."""
        extra = None
        unet = self.network(name).unet
        for src in self.sources(name):
            z = latents[src]
            if unet.config.center_input_sample:
                z = 2 * z - 1.0
            add = self.links[f'{src}_to_{name}'].input_conv(z)
            extra = add if extra is None else extra + add
        if self.masked_input:
            if cond is None:
                raise ValueError('ZeroConvExchange: the masked-input model '
                                 'needs `masks` and `masked_latents`')
            order = (name, ) + self.sources(name)
            x = torch.cat([t for n in order for t in cond[n]], dim=1)
            extra = extra + self.mask_convs[name](x)
        return extra

    def forward(self,
                latent: Tensor,
                timestep,
                text: Tensor,
                masks: Optional[Tensor] = None,
                masked_latents: Optional[Tensor] = None,
                exchange_features: bool = True,
                **unet_kwargs) -> Tensor:
        """One denoising call of every branch, tensors exchanged.

        Args:
            latent: (B, C * N, h, w) noisy latents in branch order
                (``[rgb, *modalities]``, C = 4 for SD), scheduler-scaled.
            timestep: (B,) or scalar, shared by every branch; or a dict
                per branch name (one-step estimation: a clean RGB branch at
                t = 0 beside a depth branch at the trailing step).
            text: (B, L, D) cross-attention states, shared.
            masks: (B, N, h, w) per-branch latent masks (1 = generate,
                0 = keep); only with ``masked_input``.
            masked_latents: (B, C * N, h, w) per-branch clean latents times
                (1 - mask); only with ``masked_input``.
            exchange_features: False drops the skip and mid exchanges (the
                official ``JOINTNET_TRAIN_SINGLE`` hook); the latent
                injection stays.
            unet_kwargs: passed to every branch's ``prepare``
                (``encoder_attention_mask``, ``cross_attention_kwargs`` ...).

        Returns:
            (B, C * N, h, w) predictions (epsilon / v as the UNet was
            trained) in branch order.
        """
        latents = self.split(latent)
        cond = None
        if self.masked_input and masks is not None:
            cond = {
                n: (m, z)
                for n, m, z in zip(self.branch_names, masks.split(1, dim=1),
                                   self.split(masked_latents).values())
            }
        states = {}
        for name in self.branch_names:
            net = self.network(name)
            t = timestep[name] if isinstance(timestep, dict) else timestep
            state = net.prepare(latents[name], t, text, **unet_kwargs)
            extra = self._input_injection(name, latents, cond)
            if extra is not None:
                sample = state.sample + extra
                state = state.replace(sample=sample, residuals=(sample, ))
            for i in range(net.num_down_blocks):
                state = net.run_down_block(i, state)
            states[name] = net.run_mid_block(state)
        if exchange_features:
            states = self._exchange(states)
        outs = {}
        for name in self.branch_names:
            net, state = self.network(name), states[name]
            for i in range(net.num_up_blocks):
                state = net.run_up_block(i, state)
            outs[name] = net.finalize(state)
        return self.join(outs)

    def _exchange(self, states):
        """Every branch's skips / mid output plus what its sources send
        (computed from the sources' own, un-augmented tensors)."""
        new = {}
        for name in self.branch_names:
            skips = list(states[name].residuals)
            mid = states[name].sample
            for src in self.sources(name):
                link = self.links[f'{src}_to_{name}']
                sent = states[src]
                skips = [r + conv(s) for r, conv, s in
                         zip(skips, link.skip_convs, sent.residuals)]
                mid = mid + link.mid_conv(sent.sample)
            new[name] = states[name].replace(sample=mid,
                                             residuals=tuple(skips))
        return new
