"""PixArt-alpha DiT backbone with block-level access.

``PixArtDiT`` owns a plain diffusers ``PixArtTransformer2DModel`` and splits
its forward into three public steps so that fusions (e.g. MERGE's grouped
converters) can run their own modules between the frozen blocks without
copying diffusers code::

    state = dit.prepare(latent, t, text, text_mask)    # embed
    for i in range(dit.num_blocks):
        state = dit.run_block(i, state)                # frozen block i
    out = dit.finalize(state)                          # head + unpatchify

Chaining the three steps reproduces ``transformer(...).sample`` exactly.
"""
from dataclasses import dataclass, replace
from typing import Optional, Tuple, Union

import torch
from torch import Tensor, nn

from unidense.registry import MODELS
from .frozen_network_backbone import FrozenNetworkBackbone


@dataclass
class PixArtState:
    """Everything a PixArt block needs, carried between blocks.

    Attributes:
        tokens: (B, N, D) image tokens, N = h * w.
        timestep_mod: (B, 6 * D) ``adaln_single`` output; every block adds
            its own ``scale_shift_table`` (6, D) to it.
        embedded_timestep: (B, D) timestep embedding used by the output head.
        text: (B, L, D) caption tokens after ``caption_projection``.
        text_bias: (B, 1, L) additive cross-attention bias (0 keep, -10000
            drop) or None (attend to every text token).
        grid: (h, w) token grid, i.e. latent (H, W) // patch_size.
    """
    tokens: Tensor
    timestep_mod: Tensor
    embedded_timestep: Tensor
    text: Tensor
    text_bias: Optional[Tensor]
    grid: Tuple[int, int]

    def replace(self, **changes) -> 'PixArtState':
        """Return a copy with some fields changed (states are not mutated)."""
        return replace(self, **changes)


@MODELS.register_module()
class PixArtDiT(FrozenNetworkBackbone):
    """Frozen-able PixArt-alpha transformer with block-level access.

    Args:
        transformer (dict | nn.Module): a diffusers
            ``PixArtTransformer2DModel`` or its config, built through
            ``MODELS`` (``type='PixArtTransformer2DModel'``, see
            docs/advanced_guides/interfaces.md section 3).
        frozen (bool): ``requires_grad_(False)`` on every transformer
            parameter and keep the transformer in eval mode even when the
            backbone is put in train mode. Default: True.
        init_cfg (dict, optional): mmengine init config. Pretrained weights
            come from ``transformer.from_pretrained``, not from here.

    Attributes:
        transformer: the plain diffusers module (state-dict keys unchanged).
        num_blocks, hidden_size, patch_size, in_channels, out_channels (int).
    """

    network_attr = 'transformer'
    #: what the network is trained to predict (diffusion, DDPM timesteps)
    prediction_types = ('epsilon', 'v_prediction')

    def __init__(self,
                 transformer: Union[dict, nn.Module],
                 frozen: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        transformer = self.set_network(
            transformer, frozen, expected='PixArtTransformer2DModel',
            required_attrs=('transformer_blocks', 'adaln_single'))
        cfg = transformer.config
        self.num_blocks = len(transformer.transformer_blocks)
        self.hidden_size = int(cfg.num_attention_heads *
                               cfg.attention_head_dim)
        self.patch_size = int(cfg.patch_size)
        self.in_channels = int(cfg.in_channels)
        self.out_channels = int(transformer.out_channels)

    @property
    def token_size(self) -> int:
        """Latent cells per token side (the patch size): latent sizes must
        be multiples of it."""
        return self.patch_size

    @staticmethod
    def timestep_from_scheduler(timestep: Tensor) -> Tensor:
        """A scheduler's timestep (integer step in [0, 1000)) is what
        :meth:`prepare` takes."""
        return timestep

    @property
    def blocks(self) -> nn.ModuleList:
        """The frozen ``BasicTransformerBlock`` list (``num_blocks`` long)."""
        return self.transformer.transformer_blocks

    # ------------------------------------------------------------------
    # block-level API
    # ------------------------------------------------------------------
    def prepare(self,
                hidden_states: Tensor,
                timestep: Union[Tensor, float, int],
                encoder_hidden_states: Tensor,
                encoder_attention_mask: Optional[Tensor] = None,
                added_cond_kwargs: Optional[dict] = None,
                patch_embed: Optional[nn.Module] = None) -> PixArtState:
        """Embed the inputs: patchify + position, timestep, caption.

        Args:
            hidden_states: (B, C, H, W) latent, C = ``in_channels`` (or what
                ``patch_embed`` expects), H and W multiples of patch_size.
            timestep: (B,) or scalar diffusion timestep in [0, 1000).
            encoder_hidden_states: (B, L, caption_channels) text embeddings.
            encoder_attention_mask: (B, L) 1 = keep, 0 = drop, or an already
                converted (B, 1, L) additive bias; None = keep all.
            added_cond_kwargs: resolution / aspect_ratio for checkpoints with
                ``use_additional_conditions`` (PixArt 1024); else None.
            patch_embed: replaces ``transformer.pos_embed`` (e.g. MERGE's
                8-channel embedder); must map (B, C', H, W) -> (B, N, D).

        Returns:
            PixArtState.
        """
        tf = self.transformer
        if hidden_states.ndim != 4:
            raise ValueError(
                'PixArtDiT.prepare: hidden_states must be (B, C, H, W), got '
                f'shape {tuple(hidden_states.shape)}')
        b, _, height, width = hidden_states.shape
        p = self.patch_size
        if height % p or width % p:
            raise ValueError(
                f'PixArtDiT.prepare: latent size {height}x{width} is not a '
                f'multiple of patch_size {p}')
        if encoder_hidden_states.ndim != 3 or \
                encoder_hidden_states.shape[0] != b:
            raise ValueError(
                'PixArtDiT.prepare: encoder_hidden_states must be (B, L, '
                f'caption_channels) with B={b}, got '
                f'{tuple(encoder_hidden_states.shape)}')
        if tf.use_additional_conditions and added_cond_kwargs is None:
            raise ValueError(
                'PixArtDiT.prepare: this checkpoint uses additional '
                'conditions; pass added_cond_kwargs=dict(resolution=..., '
                'aspect_ratio=...)')
        if not torch.is_tensor(timestep):
            timestep = torch.tensor([timestep], device=hidden_states.device)
        if timestep.ndim == 0 or timestep.shape[0] == 1 and b > 1:
            timestep = timestep.reshape(1).expand(b)
        # Same conversion as diffusers: the dtype of the latent decides the
        # bias dtype, so that chained and fused forwards match bit for bit.
        text_bias = encoder_attention_mask
        if text_bias is not None and text_bias.ndim == 2:
            text_bias = (1 - text_bias.to(hidden_states.dtype)) * -10000.0
            text_bias = text_bias.unsqueeze(1)

        embed = tf.pos_embed if patch_embed is None else patch_embed
        tokens = embed(hidden_states)
        timestep_mod, embedded_timestep = tf.adaln_single(
            timestep, added_cond_kwargs, batch_size=b,
            hidden_dtype=tokens.dtype)
        text = encoder_hidden_states
        if tf.caption_projection is not None:
            text = tf.caption_projection(text)
            text = text.view(b, -1, tokens.shape[-1])
        return PixArtState(
            tokens=tokens,
            timestep_mod=timestep_mod,
            embedded_timestep=embedded_timestep,
            text=text,
            text_bias=text_bias,
            grid=(height // p, width // p))

    def run_block(self, index: int, state: PixArtState) -> PixArtState:
        """Run frozen block ``index`` (0..num_blocks-1) on ``state.tokens``.

        Returns a new state whose tokens (B, N, D) are the block output; the
        conditioning fields are shared, not copied.
        """
        if not 0 <= index < self.num_blocks:
            raise IndexError(f'PixArtDiT.run_block: index {index} outside '
                             f'0..{self.num_blocks - 1}')
        block = self.blocks[index]
        tf = self.transformer
        if torch.is_grad_enabled() and tf.gradient_checkpointing:
            # honour transformer.enable_gradient_checkpointing() exactly as
            # diffusers' own forward does (same positional call)
            tokens = tf._gradient_checkpointing_func(
                block, state.tokens, None, state.text, state.text_bias,
                state.timestep_mod, None, None)
        else:
            tokens = block(
                state.tokens,
                attention_mask=None,
                encoder_hidden_states=state.text,
                encoder_attention_mask=state.text_bias,
                timestep=state.timestep_mod,
                cross_attention_kwargs=None,
                class_labels=None)
        return state.replace(tokens=tokens)

    def finalize(self,
                 state: PixArtState,
                 head: Optional[nn.Module] = None) -> Tensor:
        """Output head: modulated norm, projection, unpatchify.

        Args:
            state: the state after the last block.
            head: module with ``scale_shift_table`` (2, D), ``norm_out``,
                ``proj_out`` (D -> p*p*out_C) and ``out_channels``; default is
                the frozen transformer's own head.

        Returns:
            (B, out_C, H, W) at latent resolution (PixArt-XL-2: out_C = 8,
            channels 0-3 the epsilon prediction, 4-7 the learned variance).
        """
        head = self.transformer if head is None else head
        x = state.tokens
        table = head.scale_shift_table
        shift, scale = (table[None] + state.embedded_timestep[:, None].to(
            table.device)).chunk(2, dim=1)
        x = head.norm_out(x)
        x = x * (1 + scale.to(x.device)) + shift.to(x.device)
        x = head.proj_out(x)
        x = x.squeeze(1)
        h, w = state.grid
        p = self.patch_size
        out_c = int(head.out_channels)
        x = x.reshape(-1, h, w, p, p, out_c)
        x = torch.einsum('nhwpqc->nchpwq', x)
        return x.reshape(-1, out_c, h * p, w * p)

    def dummy_inputs(self, height: int, width: int, text_tokens: int = 120
                     ) -> Tuple[Tensor, Tensor, Tensor]:
        """Forward arguments for an image of ``height x width`` through an
        8x VAE (FLOPs counting, tracing): latent (1, in_channels, H/8,
        W/8), timestep 500 and ``text_tokens`` caption embeddings (PixArt's
        T5 length is 120). Random values; dtype of the weights."""
        p = next(self.transformer.parameters())
        cfg = self.transformer.config
        latent = torch.randn(1, self.in_channels, height // 8, width // 8,
                             dtype=p.dtype)
        text = torch.randn(1, text_tokens, int(cfg.caption_channels),
                           dtype=p.dtype)
        return latent, torch.tensor([500]), text

    def forward(self,
                hidden_states: Tensor,
                timestep: Union[Tensor, float, int],
                encoder_hidden_states: Tensor,
                encoder_attention_mask: Optional[Tensor] = None,
                added_cond_kwargs: Optional[dict] = None) -> Tensor:
        """Plain text-to-image forward, equal to ``transformer(...).sample``.

        Args: see :meth:`prepare`. Returns (B, out_C, H, W).
        """
        state = self.prepare(hidden_states, timestep, encoder_hidden_states,
                             encoder_attention_mask, added_cond_kwargs)
        for index in range(self.num_blocks):
            state = self.run_block(index, state)
        return self.finalize(state)
