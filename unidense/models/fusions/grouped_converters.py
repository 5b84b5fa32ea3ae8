"""MERGE's fusion: grouped, shared converter blocks in front of a frozen DiT.

Lin et al., "More Than Generation: Unifying Generation and Depth Estimation
via Text-to-Image Diffusion Models" (NeurIPS 2025), Sec. 3.2-3.3.
"""
import copy
import dataclasses
import math
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from unidense.registry import MODELS

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
class GroupedConverters(BaseModule):
    """Shared trainable converters, one per contiguous group of frozen blocks.

    The converter of group ``g`` runs again before *every* frozen block of
    that group (the paper's Group Reuse Mechanism). Without the converters
    (``mode='t2i'`` in :class:`MERGE`) the frozen text-to-image model is
    untouched, so generation stays exactly the base model's.

    Two backbones are supported, recognised by their API
    (:class:`PixArtDiT` has ``blocks``, :class:`FluxDiT` ``single_blocks``):

    * PixArt (MERGE-B): ``num_groups`` diffusers ``BasicTransformerBlock``
      adaLN-single blocks with self-attention and an FFN of ratio ``ff_ratio``
      but no cross-attention; they add their own 6xD table to the frozen
      model's timestep modulation. Own patch embedding for
      ``[RGB latent, noisy depth latent]`` (2 x in_channels) whose conv is the
      frozen one duplicated along the input axis and halved (bias kept), and
      a copy of the frozen output head. PixArt-XL-2-512 with 14 groups gives
      111,747,488 trainable parameters.
    * FLUX (MERGE-L): ``num_groups=(dual, single)`` diffusers
      ``FluxSingleTransformerBlock`` converters; the dual-part ones see image
      tokens only (image-only RoPE), the single-part ones the
      ``[text; image]`` sequence. New ``x_embedder`` Linear(2 x 64 -> D) for
      the packed ``[depth, RGB]`` latent: frozen weights in the depth half,
      zeros in the RGB half, bias kept; copies of ``norm_out``/``proj_out``.
      FLUX.1-dev with (5, 5) groups gives 1,435,391,552.

    Initialisation (``init``):

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

    ``single_in_dual_init`` (FLUX only): ``'random'`` (official default) or
    ``'pretrained'`` (copy the initialised single-part converters into the
    dual-part ones, the official ``single_in_dual_init_type=pretrained``).
    ``None`` picks ``'pretrained'`` when ``init='pretrained'``.

    Args:
        backbone: the built frozen :class:`PixArtDiT` / :class:`FluxDiT`
            (kept as a plain reference, not a sub-module, so the estimator
            owns it and its weights are not saved with the converters), or a
            config dict, in which case the fusion builds and owns it.
        num_groups: PixArt: int (14); FLUX: (dual, single) = (5, 5).
        ff_ratio: PixArt converter FFN inner size / hidden size (1.0).
        in_channels: input channels of the depth path (PixArt: 2 x latent
            channels = 8; FLUX: packed 2 x 64 = 128). ``None`` = twice the
            frozen input.
        init: 'pretrained' | 'official' | 'random'.
        single_in_dual_init: see above.
    """

    def __init__(self,
                 backbone: Union[nn.Module, dict],
                 num_groups: Union[int, Sequence[int]] = 14,
                 ff_ratio: float = 1.0,
                 in_channels: Optional[int] = None,
                 init: str = 'pretrained',
                 single_in_dual_init: Optional[str] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(backbone, dict):
            backbone = MODELS.build(backbone)
            self.owned_backbone = backbone
        if init not in INIT_MODES:
            raise ValueError(f'GroupedConverters: init={init!r}, expected '
                             f'one of {INIT_MODES}')
        # a plain attribute, not a sub-module: the estimator owns the frozen
        # model, and its state_dict must not be duplicated here
        object.__setattr__(self, '_backbone', backbone)
        self.init_mode = init
        if hasattr(backbone, 'single_blocks'):
            self.kind = 'flux'
            self._build_flux(backbone, num_groups, in_channels, init,
                             single_in_dual_init)
        elif hasattr(backbone, 'blocks'):
            self.kind = 'pixart'
            self._build_pixart(backbone, num_groups, ff_ratio, in_channels,
                               init)
        else:
            raise TypeError(
                f'GroupedConverters: backbone {type(backbone).__name__} has '
                f'neither `blocks` (PixArtDiT) nor `single_blocks` (FluxDiT)')
        for name, module in self.named_children():
            if name != 'owned_backbone':
                module.requires_grad_(True)

    @property
    def backbone(self) -> nn.Module:
        return self._backbone

    # ------------------------------------------------------------------ build
    def _build_pixart(self, backbone, num_groups, ff_ratio, in_channels,
                      init):
        from diffusers.models.attention import BasicTransformerBlock
        if not isinstance(num_groups, int):
            raise TypeError(f'GroupedConverters (PixArt): num_groups must be '
                            f'an int, got {num_groups!r}')
        tr = backbone.transformer
        cfg = tr.config
        dim = backbone.hidden_size
        self.layout = group_layout(backbone.num_blocks, num_groups)
        self.converters = nn.ModuleList([
            BasicTransformerBlock(
                dim, cfg.num_attention_heads, cfg.attention_head_dim,
                cross_attention_dim=None, norm_type='ada_norm_single',
                ff_inner_dim=int(round(dim * ff_ratio)),
                activation_fn=cfg.activation_fn,
                num_embeds_ada_norm=cfg.num_embeds_ada_norm,
                attention_bias=cfg.attention_bias,
                norm_elementwise_affine=cfg.norm_elementwise_affine,
                norm_eps=cfg.norm_eps) for _ in range(num_groups)
        ])
        # own patch embedding: same grid/sin-cos table, a wider input conv
        frozen_embed = tr.pos_embed
        self.patch_embed = copy.deepcopy(frozen_embed)
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
        self.patch_embed.proj = new
        self.head = ConverterHead(
            tr, ('scale_shift_table', 'norm_out', 'proj_out'))
        self.head.out_channels = tr.out_channels
        self.head.scale_shift_table.requires_grad_(True)
        self._init_from_blocks(self.converters, backbone.blocks, self.layout,
                               init)

    def _build_flux(self, backbone, num_groups, in_channels, init,
                    single_in_dual_init):
        from diffusers.models.transformers.transformer_flux import \
            FluxSingleTransformerBlock
        if isinstance(num_groups, int) or len(num_groups) != 2:
            raise TypeError(f'GroupedConverters (FLUX): num_groups must be '
                            f'(dual, single), got {num_groups!r}')
        tr = backbone.transformer
        cfg = tr.config
        dim = backbone.hidden_size
        self.dual_layout = group_layout(backbone.num_double_blocks,
                                        num_groups[0])
        self.single_layout = group_layout(backbone.num_single_blocks,
                                          num_groups[1])

        def block():
            return FluxSingleTransformerBlock(dim, cfg.num_attention_heads,
                                              cfg.attention_head_dim)

        self.dual_converters = nn.ModuleList(
            [block() for _ in range(num_groups[0])])
        self.single_converters = nn.ModuleList(
            [block() for _ in range(num_groups[1])])
        old = tr.x_embedder
        in_channels = in_channels or 2 * old.in_features
        self.x_embedder = nn.Linear(in_channels, old.out_features,
                                    device=old.weight.device,
                                    dtype=old.weight.dtype)
        with torch.no_grad():
            # the packed input is [depth (64) | RGB (64)]: the depth half
            # starts as the frozen image embedder, the condition half at zero
            # so the first forward equals the frozen model on the depth latent
            self.x_embedder.weight.zero_()
            self.x_embedder.weight[:, :old.in_features].copy_(old.weight)
            self.x_embedder.bias.copy_(old.bias)
        self.head = ConverterHead(tr, ('norm_out', 'proj_out'))
        self.head.out_channels = tr.out_channels
        self._init_from_blocks(self.single_converters, backbone.single_blocks,
                               self.single_layout,
                               'pretrained' if init == 'official' else init)
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

    # ---------------------------------------------------------------- forward
    def forward(self, *args, **kwargs) -> torch.Tensor:
        """Run the frozen backbone in depth mode with the converters.

        PixArt: ``forward(hidden_states, timestep, encoder_hidden_states,
        encoder_attention_mask=None, added_cond_kwargs=None)`` with
        ``hidden_states`` (B, in_channels, h, w) = [RGB latent, noisy depth
        latent]; returns (B, out_channels, h, w) (channels 0-3 are epsilon).

        FLUX: ``forward(hidden_states, timestep, encoder_hidden_states,
        pooled_projections, img_ids, txt_ids, guidance=None)`` with
        ``hidden_states`` (B, N, in_channels) packed [depth, RGB] tokens and
        ``timestep`` sigma in [0, 1]; returns (B, N, out_channels).
        """
        if self.kind == 'pixart':
            return self.forward_pixart(*args, **kwargs)
        return self.forward_flux(*args, **kwargs)

    def forward_pixart(self, hidden_states, timestep, encoder_hidden_states,
                       encoder_attention_mask=None, added_cond_kwargs=None):
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

    def forward_flux(self, hidden_states, timestep, encoder_hidden_states,
                     pooled_projections, img_ids, txt_ids, guidance=None):
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
