"""MERGE's fusion: grouped, shared converter blocks in front of a frozen DiT.

Lin et al., "More Than Generation: Unifying Generation and Depth Estimation
via Text-to-Image Diffusion Models" (NeurIPS 2025), Sec. 3.2-3.3.
"""
import copy
import dataclasses
import math
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn

from unidense.models.backbones import FluxDiT, PixArtDiT
from unidense.registry import MODELS
from .base_fusion import BaseFusion

INIT_MODES = ('pretrained', 'official', 'random')


def group_layout(num_blocks: int, num_groups: int) -> list:
    """Contiguous group index of every frozen block.

    Groups hold ``ceil(num_blocks / num_groups)`` blocks, the last one may be
    smaller (FLUX: 19 blocks / 5 groups -> 4, 4, 4, 4, 3). For PixArt-XL-2
    (28 blocks, 14 groups) this is the official ``i // (28 // 14)``.

    Raises:
        ValueError: if a group would receive no block (e.g. 28 blocks in 10
            groups of 3 leave the 10th group empty), because an unused
            converter would silently be trained on nothing.
    """
    if num_groups < 1 or num_blocks < 1:
        raise ValueError(f'group_layout: need >= 1 block and group, got '
                         f'num_blocks={num_blocks}, num_groups={num_groups}')
    size = math.ceil(num_blocks / num_groups)
    layout = [i // size for i in range(num_blocks)]
    if layout[-1] != num_groups - 1:
        raise ValueError(
            f'group_layout: {num_blocks} blocks cannot be split into '
            f'{num_groups} contiguous groups of {size} (the last '
            f'{num_groups - 1 - layout[-1]} group(s) would be empty); choose '
            f'num_groups so that ceil(num_blocks / num_groups) * '
            f'(num_groups - 1) < num_blocks')
    return layout


def first_blocks(layout: Sequence[int]) -> list:
    """Index of the first frozen block of every group."""
    firsts = {}
    for i, g in enumerate(layout):
        firsts.setdefault(g, i)
    return [firsts[g] for g in range(len(firsts))]


def copy_matching_(dst: nn.Module, src: nn.Module) -> list:
    """Copy parameters whose names and shapes match from ``src`` to ``dst``.

    This is the official repository's initialisation rule; parameters that do
    not match (the ratio-1 FFN against the frozen ratio-4 one) keep their
    fresh init. Returns the copied names.
    """
    src_params = dict(src.named_parameters())
    copied = []
    with torch.no_grad():
        for name, p in dst.named_parameters():
            q = src_params.get(name)
            if q is not None and q.shape == p.shape:
                p.copy_(q)
                copied.append(name)
    return copied


class ConverterHead(nn.Module):
    """Trainable copy of the frozen output head (PixArt: modulation table,
    ``norm_out``, ``proj_out``; FLUX: ``norm_out``, ``proj_out``)."""

    def __init__(self, frozen: nn.Module, names: Sequence[str]):
        super().__init__()
        for name in names:
            value = copy.deepcopy(getattr(frozen, name))
            if isinstance(value, torch.Tensor):
                value = nn.Parameter(value.detach().clone())
            setattr(self, name, value)
        self.out_channels = getattr(frozen, 'out_channels', None)


def _set(state, **fields):
    """Copy of a backbone state with some fields changed (never mutated)."""
    if hasattr(state, 'replace'):
        return state.replace(**fields)
    return dataclasses.replace(state, **fields)


@MODELS.register_module()
class GroupedConverters(BaseFusion):
    """Shared trainable converters, one per contiguous group of frozen blocks.

    The converter of group ``g`` runs again before *every* frozen block of
    that group (the paper's Group Reuse Mechanism). Without the converters
    (``mode='t2i'`` in :class:`MERGE`) the frozen text-to-image model is
    untouched, so generation stays exactly the base model's.

    ``GroupedConverters(backbone, ...)`` (and ``type='GroupedConverters'``
    in a config) builds the variant written for the backbone's class -
    :class:`PixArtGroupedConverters` for :class:`PixArtDiT`,
    :class:`FluxGroupedConverters` for :class:`FluxDiT` - so one config key
    serves both and neither the estimator nor this base class asks which
    backbone it is. A variant declares its ``backbone_class``; a new DiT gets
    a new variant class, not a branch here.

    Shared here: the group layout, the three initialisations and the
    estimator-facing :meth:`denoise`. Initialisation (``init``):

    * ``'pretrained'`` (default, the paper's intent, Table 8): every
      converter copies the parameters whose names and shapes match from the
      first frozen block of its group (PixArt: attention and modulation table;
      the ratio-1 FFN stays at its fresh init).
    * ``'official'``: reproduces the released PixArt code, whose source-index
      list ``range(0, num_groups, group_size)`` stops half way, so that only
      the first ``ceil(num_groups / group_size)`` converters are copied
      (blocks 0, 2, ..., 12 into converters 0-6 for MERGE-B) and converters
      7-13 stay random. For FLUX the official code is correct for the single
      part (blocks 0, 8, 16, 24, 32).
    * ``'random'``: no copy (Table 8's ablation).

    Args:
        backbone: the built frozen backbone (borrowed, see
            :class:`BaseFusion`) or its config (built and owned).
        init: 'pretrained' | 'official' | 'random'.
        init_cfg: mmengine init config.
    """

    backbone_class = None  # set by each variant

    def __new__(cls, backbone=None, *args, **kwargs):
        if cls.backbone_class is not None:
            return super().__new__(cls)
        backbone_type = (MODELS.get(backbone['type']) if isinstance(
            backbone, dict) else type(backbone))
        for variant in cls.__subclasses__():
            if isinstance(backbone_type, type) and issubclass(
                    backbone_type, variant.backbone_class):
                return super().__new__(variant)
        names = [v.backbone_class.__name__ for v in cls.__subclasses__()]
        raise TypeError(f'GroupedConverters: no variant for a backbone of '
                        f'type {getattr(backbone_type, "__name__", None)}; '
                        f'written for {", ".join(names)}')

    def __init__(self, backbone: Union[nn.Module, dict],
                 init: str = 'pretrained', init_cfg=None):
        if init not in INIT_MODES:
            raise ValueError(f'GroupedConverters: init={init!r}, expected '
                             f'one of {INIT_MODES}')
        super().__init__(backbone, init_cfg=init_cfg)
        self.init_mode = init

    @staticmethod
    def _init_from_blocks(converters, blocks, layout, init):
        if init == 'random':
            return
        sources = first_blocks(layout)
        if init == 'official':
            # the released trainer's list: every group_size-th index below
            # the number of converters -> only the first half is copied
            size = sources[1] - sources[0] if len(sources) > 1 else 1
            sources = list(range(0, len(converters), size))
        for conv, src in zip(converters, sources):
            copy_matching_(conv, blocks[src])

    def denoise(self, noisy: torch.Tensor, cond: torch.Tensor,
                timestep: torch.Tensor, text: Dict[str, torch.Tensor],
                guidance: float = 0.0) -> torch.Tensor:
        """One depth-mode network call on latents (what MERGE calls).

        Args:
            noisy: (B, C, h, w) noisy depth latent.
            cond: (B, C, h, w) RGB latent.
            timestep: (B,) in the backbone's convention
                (``backbone.timestep_from_scheduler``): PixArt an integer
                step in [0, 1000), FLUX a sigma in [0, 1].
            text: dict(embeds (B, L, D), mask (B, L) or None, pooled (B, P)
                or None), e.g. ``TextEncoder.encode`` output.
            guidance: guidance-embedder value (FLUX.1-dev; 0 as the
                official code); unused by backbones without one.

        Returns:
            (B, C, h, w) prediction (epsilon / v / flow velocity).
        """
        raise NotImplementedError


@MODELS.register_module()
class PixArtGroupedConverters(GroupedConverters):
    """MERGE-B: grouped converters before the frozen PixArt blocks.

    ``num_groups`` diffusers ``BasicTransformerBlock`` adaLN-single blocks
    with self-attention and an FFN of ratio ``ff_ratio`` but no
    cross-attention; they add their own 6xD table to the frozen model's
    timestep modulation. Own patch embedding for ``[RGB latent, noisy depth
    latent]`` (2 x in_channels) whose conv is the frozen one duplicated along
    the input axis and halved (bias kept), and a copy of the frozen output
    head. PixArt-XL-2-512 with 14 groups gives 111,747,488 trainable
    parameters.

    Args:
        backbone: :class:`PixArtDiT` (or its config).
        num_groups (int): converters (14).
        ff_ratio: converter FFN inner size / hidden size (1.0).
        in_channels: input channels of the depth path (2 x latent channels =
            8); ``None`` = twice the frozen input.
        init: see :class:`GroupedConverters`.
    """

    backbone_class = PixArtDiT
    required_backbone_attrs = ('blocks', 'prepare', 'run_block', 'finalize')

    def __init__(self, backbone, num_groups: int = 14, ff_ratio: float = 1.0,
                 in_channels: Optional[int] = None,
                 init: str = 'pretrained', init_cfg=None):
        super().__init__(backbone, init=init, init_cfg=init_cfg)
        if not isinstance(num_groups, int):
            raise TypeError(f'GroupedConverters (PixArt): num_groups must be '
                            f'an int, got {num_groups!r}')
        backbone = self.backbone
        self.layout = group_layout(backbone.num_blocks, num_groups)
        self.converters = nn.ModuleList([
            self._converter(backbone, ff_ratio) for _ in range(num_groups)])
        tr = backbone.transformer
        self.patch_embed = self._widened_patch_embed(tr.pos_embed,
                                                     in_channels)
        self.head = ConverterHead(
            tr, ('scale_shift_table', 'norm_out', 'proj_out'))
        self.head.out_channels = tr.out_channels
        self._init_from_blocks(self.converters, backbone.blocks, self.layout,
                               init)
        self.make_own_parts_trainable()

    @staticmethod
    def _converter(backbone, ff_ratio):
        from diffusers.models.attention import BasicTransformerBlock
        cfg = backbone.transformer.config
        dim = backbone.hidden_size
        return BasicTransformerBlock(
            dim, cfg.num_attention_heads, cfg.attention_head_dim,
            cross_attention_dim=None, norm_type='ada_norm_single',
            ff_inner_dim=int(round(dim * ff_ratio)),
            activation_fn=cfg.activation_fn,
            num_embeds_ada_norm=cfg.num_embeds_ada_norm,
            attention_bias=cfg.attention_bias,
            norm_elementwise_affine=cfg.norm_elementwise_affine,
            norm_eps=cfg.norm_eps)

    @staticmethod
    def _widened_patch_embed(frozen_embed, in_channels):
        """Own patch embedding: same grid/sin-cos table, a wider input conv."""
        embed = copy.deepcopy(frozen_embed)
        old = frozen_embed.proj
        in_channels = in_channels or 2 * old.in_channels
        if in_channels % old.in_channels:
            raise ValueError(
                f'GroupedConverters: in_channels={in_channels} is not a '
                f'multiple of the frozen patch embedding input '
                f'{old.in_channels}')
        reps = in_channels // old.in_channels
        new = nn.Conv2d(in_channels, old.out_channels, old.kernel_size,
                        old.stride, bias=old.bias is not None,
                        device=old.weight.device, dtype=old.weight.dtype)
        with torch.no_grad():
            # Marigold's widening: each copy sees a latent of the same
            # statistics, so halving keeps the first activations unchanged
            new.weight.copy_(old.weight.repeat(1, reps, 1, 1) / reps)
            if old.bias is not None:
                new.bias.copy_(old.bias)
        embed.proj = new
        return embed

    def forward(self, hidden_states, timestep, encoder_hidden_states,
                encoder_attention_mask=None, added_cond_kwargs=None):
        """Frozen PixArt in depth mode with the converters.

        Args:
            hidden_states: (B, in_channels, h, w) = [RGB latent, noisy depth
                latent].
            timestep: (B,) integer step in [0, 1000).
            encoder_hidden_states: (B, L, caption_channels).
            encoder_attention_mask: (B, L) 1 keep / 0 drop, or None.

        Returns:
            (B, out_channels, h, w); channels 0-3 are the prediction.
        """
        bb = self.backbone
        expected = self.patch_embed.proj.in_channels
        if hidden_states.dim() != 4 or hidden_states.shape[1] != expected:
            raise ValueError(
                f'GroupedConverters: hidden_states must be (B, {expected}, h, '
                f'w) = [RGB latent, noisy depth latent], got '
                f'{tuple(hidden_states.shape)}')
        state = bb.prepare(hidden_states, timestep, encoder_hidden_states,
                           encoder_attention_mask=encoder_attention_mask,
                           added_cond_kwargs=added_cond_kwargs,
                           patch_embed=self.patch_embed)
        for i, g in enumerate(self.layout):
            # converters borrow the frozen timestep modulation and see no text
            tokens = self.converters[g](state.tokens,
                                        timestep=state.timestep_mod)
            state = bb.run_block(i, _set(state, tokens=tokens))
        return bb.finalize(state, head=self.head)

    def denoise(self, noisy, cond, timestep, text, guidance=0.0):
        # [RGB, depth] along channels; the learned-variance half is dropped
        out = self(torch.cat([cond, noisy], dim=1), timestep, text['embeds'],
                   text['mask'],
                   added_cond_kwargs=dict(resolution=None, aspect_ratio=None))
        return out[:, :noisy.shape[1]]


@MODELS.register_module()
class FluxGroupedConverters(GroupedConverters):
    """MERGE-L: grouped converters in both stages of the frozen FLUX MMDiT.

    ``num_groups=(dual, single)`` diffusers ``FluxSingleTransformerBlock``
    converters; the dual-part ones see image tokens only (image-only RoPE),
    the single-part ones the ``[text; image]`` sequence. New ``x_embedder``
    Linear(2 x 64 -> D) for the packed ``[depth, RGB]`` latent: frozen
    weights in the depth half, zeros in the RGB half, bias kept; copies of
    ``norm_out``/``proj_out``. FLUX.1-dev with (5, 5) groups gives
    1,435,391,552.

    Args:
        backbone: :class:`FluxDiT` (or its config).
        num_groups: (dual, single) = (5, 5).
        in_channels: packed input features (2 x 64 = 128); ``None`` = twice
            the frozen input.
        init: see :class:`GroupedConverters` ('official' copies the single
            part as 'pretrained' does: the released code is right there).
        single_in_dual_init: ``'random'`` (official default) or
            ``'pretrained'`` (copy the initialised single-part converters
            into the dual-part ones, the official
            ``single_in_dual_init_type=pretrained``). ``None`` picks
            ``'pretrained'`` when ``init='pretrained'``.
    """

    backbone_class = FluxDiT
    required_backbone_attrs = ('single_blocks', 'prepare', 'pack_latents',
                               'unpack_latents', 'finalize')

    def __init__(self, backbone, num_groups: Sequence[int] = (5, 5),
                 in_channels: Optional[int] = None,
                 init: str = 'pretrained',
                 single_in_dual_init: Optional[str] = None, init_cfg=None):
        super().__init__(backbone, init=init, init_cfg=init_cfg)
        if isinstance(num_groups, int) or len(num_groups) != 2:
            raise TypeError(f'GroupedConverters (FLUX): num_groups must be '
                            f'(dual, single), got {num_groups!r}')
        backbone = self.backbone
        self.dual_layout = group_layout(backbone.num_double_blocks,
                                        num_groups[0])
        self.single_layout = group_layout(backbone.num_single_blocks,
                                          num_groups[1])
        self.dual_converters = nn.ModuleList(
            [self._converter(backbone) for _ in range(num_groups[0])])
        self.single_converters = nn.ModuleList(
            [self._converter(backbone) for _ in range(num_groups[1])])
        tr = backbone.transformer
        self.x_embedder = self._widened_embedder(tr.x_embedder, in_channels)
        self.head = ConverterHead(tr, ('norm_out', 'proj_out'))
        self.head.out_channels = tr.out_channels
        self._init_from_blocks(self.single_converters, backbone.single_blocks,
                               self.single_layout,
                               'pretrained' if init == 'official' else init)
        self._init_dual(init, single_in_dual_init)
        self.make_own_parts_trainable()

    @staticmethod
    def _converter(backbone):
        from diffusers.models.transformers.transformer_flux import \
            FluxSingleTransformerBlock
        cfg = backbone.transformer.config
        return FluxSingleTransformerBlock(backbone.hidden_size,
                                          cfg.num_attention_heads,
                                          cfg.attention_head_dim)

    @staticmethod
    def _widened_embedder(old, in_channels):
        new = nn.Linear(in_channels or 2 * old.in_features, old.out_features,
                        device=old.weight.device, dtype=old.weight.dtype)
        with torch.no_grad():
            # the packed input is [depth (64) | RGB (64)]: the depth half
            # starts as the frozen image embedder, the condition half at zero
            # so the first forward equals the frozen model on the depth latent
            new.weight.zero_()
            new.weight[:, :old.in_features].copy_(old.weight)
            new.bias.copy_(old.bias)
        return new

    def _init_dual(self, init, single_in_dual_init):
        if single_in_dual_init is None:
            single_in_dual_init = ('pretrained' if init == 'pretrained' else
                                   'random')
        if single_in_dual_init not in ('pretrained', 'random'):
            raise ValueError(f'GroupedConverters: single_in_dual_init='
                             f'{single_in_dual_init!r}, expected '
                             f"'pretrained' or 'random'")
        self.single_in_dual_init = single_in_dual_init
        if single_in_dual_init == 'pretrained':
            for g, conv in enumerate(self.dual_converters):
                src = self.single_converters[min(
                    g, len(self.single_converters) - 1)]
                conv.load_state_dict(src.state_dict())

    def forward(self, hidden_states, timestep, encoder_hidden_states,
                pooled_projections, img_ids, txt_ids, guidance=None):
        """Frozen FLUX in depth mode with the converters.

        Args:
            hidden_states: (B, N, in_channels) packed [depth, RGB] tokens.
            timestep: (B,) sigma in [0, 1].
            encoder_hidden_states: (B, L, joint_attention_dim).
            pooled_projections: (B, pooled_projection_dim).
            img_ids: (N, 3); txt_ids: (L, 3); guidance: (B,) or None.

        Returns:
            (B, N, out_channels) packed prediction.
        """
        bb = self.backbone
        expected = self.x_embedder.in_features
        if hidden_states.dim() != 3 or hidden_states.shape[-1] != expected:
            raise ValueError(
                f'GroupedConverters: hidden_states must be (B, N, {expected}) '
                f'packed [depth, RGB] latent tokens, got '
                f'{tuple(hidden_states.shape)}')
        state = bb.prepare(hidden_states, timestep, encoder_hidden_states,
                           pooled_projections, img_ids, txt_ids,
                           guidance=guidance, x_embedder=self.x_embedder)
        for j, g in enumerate(self.dual_layout):
            img = state.img
            # image tokens only: an empty text stream and image-only RoPE
            _, img = self.dual_converters[g](
                hidden_states=img, encoder_hidden_states=img[:, :0],
                temb=state.temb, image_rotary_emb=state.img_rotary)
            state = bb.run_double_block(j, _set(state, img=img))
        state = bb.start_single_stage(state)
        for k, g in enumerate(self.single_layout):
            state = self._single_converter(self.single_converters[g], state)
            state = bb.run_single_block(k, state)
        return bb.finalize(state, head=self.head)

    @staticmethod
    def _single_converter(conv, state):
        # diffusers' single-stream block joins [txt; img] itself and returns
        # the two streams split again, as FluxDiT's state keeps them
        txt, img = conv(hidden_states=state.img,
                        encoder_hidden_states=state.txt, temb=state.temb,
                        image_rotary_emb=state.rotary)
        return _set(state, img=img, txt=txt)

    def denoise(self, noisy, cond, timestep, text, guidance=0.0):
        # [depth, RGB] along channels, 2x2-packed to tokens (FluxPipeline's
        # packing); text ids are zeros as in FLUX.1
        bb = self.backbone
        b, _, h, w = noisy.shape
        tokens = bb.pack_latents(torch.cat([noisy, cond], dim=1))
        img_ids = bb.latent_image_ids(h, w, noisy.device, noisy.dtype)
        txt_ids = torch.zeros(text['embeds'].shape[1], 3,
                              device=noisy.device, dtype=noisy.dtype)
        guidance_vec = None
        if bb.guidance_embeds:
            guidance_vec = torch.full((b, ), float(guidance),
                                      device=noisy.device,
                                      dtype=torch.float32)
        out = self(tokens, timestep, text['embeds'], text['pooled'], img_ids,
                   txt_ids, guidance=guidance_vec)
        return bb.unpack_latents(out, h, w)
