"""FLUX.1 MMDiT backbone with block-level access.

``FluxDiT`` owns a plain diffusers ``FluxTransformer2DModel`` and exposes its
forward as steps, so that fusions (MERGE-L converters) can interleave their
own blocks without copying diffusers code::

    state = dit.prepare(tokens, sigma, t5, pooled, img_ids, txt_ids, guidance)
    for i in range(dit.num_double_blocks):
        state = dit.run_double_block(i, state)
    state = dit.start_single_stage(state)
    for i in range(dit.num_single_blocks):
        state = dit.run_single_block(i, state)
    out = dit.finalize(state)                 # (B, N, out_channels)

Chaining the steps reproduces ``transformer(...).sample`` exactly.

Streams: since diffusers 0.35 the single-stream block takes the text and
image streams separately and concatenates them itself, so ``FluxState`` keeps
``txt`` and ``img`` split in both stages; ``state.joint`` gives (and accepts)
the concatenated ``[txt; img]`` sequence for modules that want one sequence.
"""
from dataclasses import dataclass, replace
from typing import Optional, Tuple, Union

import torch
from torch import Tensor, nn

from unidense.registry import MODELS
from .frozen_network_backbone import FrozenNetworkBackbone

Rotary = Tuple[Tensor, Tensor]


@dataclass
class FluxState:
    """Streams and conditioning carried between FLUX blocks.

    Attributes:
        img: (B, N, D) image tokens.
        txt: (B, L, D) text tokens (after ``context_embedder``).
        temb: (B, D) timestep + guidance + pooled-text embedding.
        rotary: (cos, sin), each (L + N, head_dim): RoPE of ``[txt; img]``.
        img_rotary: (cos, sin), each (N, head_dim): RoPE of the image tokens
            alone (for converters that see image tokens only).
        single_stage: False during the double (MMDiT) stage, True after
            :meth:`FluxDiT.start_single_stage`.
    """
    img: Tensor
    txt: Tensor
    temb: Tensor
    rotary: Rotary
    img_rotary: Rotary
    single_stage: bool = False

    @property
    def joint(self) -> Tensor:
        """(B, L + N, D) concatenation ``[txt; img]`` (a new tensor)."""
        return torch.cat([self.txt, self.img], dim=1)

    @joint.setter
    def joint(self, value: Tensor):
        # Split back at the text length so both views stay consistent.
        n_txt = self.txt.shape[1]
        if value.shape[1] != n_txt + self.img.shape[1]:
            raise ValueError(
                f'FluxState.joint: expected {n_txt + self.img.shape[1]} '
                f'tokens ([txt; img]), got shape {tuple(value.shape)}')
        self.txt, self.img = value[:, :n_txt], value[:, n_txt:]

    def replace(self, **changes) -> 'FluxState':
        """Return a copy with some fields changed."""
        return replace(self, **changes)


@MODELS.register_module()
class FluxDiT(FrozenNetworkBackbone):
    """Frozen-able FLUX.1 transformer with block-level access.

    Args:
        transformer (dict | nn.Module): a diffusers ``FluxTransformer2DModel``
            or its config, built through ``MODELS``
            (``type='FluxTransformer2DModel'``).
        frozen (bool): ``requires_grad_(False)`` on the transformer and keep
            it in eval mode. Default: True.
        init_cfg (dict, optional): mmengine init config.

    Attributes:
        transformer: the plain diffusers module.
        num_double_blocks, num_single_blocks, hidden_size, in_channels,
        out_channels (int); guidance_embeds (bool).
    """

    network_attr = 'transformer'

    def __init__(self,
                 transformer: Union[dict, nn.Module],
                 frozen: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        transformer = self.set_network(
            transformer, frozen, expected='FluxTransformer2DModel',
            required_attrs=('transformer_blocks', 'single_transformer_blocks'))
        cfg = transformer.config
        self.num_double_blocks = len(transformer.transformer_blocks)
        self.num_single_blocks = len(transformer.single_transformer_blocks)
        self.hidden_size = int(transformer.inner_dim)
        self.in_channels = int(cfg.in_channels)
        self.out_channels = int(transformer.out_channels)
        self.guidance_embeds = bool(cfg.guidance_embeds)

    #: flow matching: the target is the velocity noise - x0
    prediction_types = ('flow', )
    #: latent cells per token side: FluxPipeline packs 2x2 latent patches
    token_size = 2

    @staticmethod
    def timestep_from_scheduler(timestep: Tensor) -> Tensor:
        """A flow-matching scheduler's timestep (sigma x 1000) -> the sigma
        in [0, 1] that :meth:`prepare` takes."""
        return timestep / 1000

    @property
    def double_blocks(self) -> nn.ModuleList:
        """The ``FluxTransformerBlock`` (MMDiT) list."""
        return self.transformer.transformer_blocks

    @property
    def single_blocks(self) -> nn.ModuleList:
        """The ``FluxSingleTransformerBlock`` list."""
        return self.transformer.single_transformer_blocks

    # ------------------------------------------------------------------
    # latent packing helpers (same layout as diffusers' FluxPipeline)
    # ------------------------------------------------------------------
    @staticmethod
    def pack_latents(latents: Tensor) -> Tensor:
        """(B, C, H, W) latent -> (B, H/2 * W/2, 4C) tokens.

        Each token holds a 2x2 patch channel-major: features
        ``[c * 4 + dy * 2 + dx]``, so concatenated latents [A (C_a); B (C_b)]
        give tokens whose first 4*C_a features come from A.
        """
        if latents.ndim != 4 or latents.shape[2] % 2 or latents.shape[3] % 2:
            raise ValueError('FluxDiT.pack_latents: expected (B, C, H, W) '
                             'with even H and W, got '
                             f'{tuple(latents.shape)}')
        from diffusers import FluxPipeline
        return FluxPipeline._pack_latents(latents, *latents.shape)

    @staticmethod
    def unpack_latents(tokens: Tensor, height: int, width: int) -> Tensor:
        """(B, H/2 * W/2, 4C) tokens -> (B, C, H, W); H, W latent size."""
        b, n, d = tokens.shape
        if height % 2 or width % 2 or n != (height // 2) * (width // 2) \
                or d % 4:
            raise ValueError(
                f'FluxDiT.unpack_latents: tokens {tuple(tokens.shape)} do '
                f'not fit a {height}x{width} latent packed 2x2')
        from diffusers import FluxPipeline
        # vae_scale_factor=1: height and width are latent sizes already
        return FluxPipeline._unpack_latents(tokens, height, width, 1)

    @staticmethod
    def latent_image_ids(height: int, width: int,
                         device: Union[torch.device, str, None] = None,
                         dtype: torch.dtype = torch.float32) -> Tensor:
        """Position ids (H/2 * W/2, 3) = (0, row, col) of packed tokens.

        height, width: latent size (before packing), as in FluxPipeline.
        """
        from diffusers import FluxPipeline
        return FluxPipeline._prepare_latent_image_ids(
            None, height // 2, width // 2, device, dtype)

    # ------------------------------------------------------------------
    # block-level API
    # ------------------------------------------------------------------
    def prepare(self,
                hidden_states: Tensor,
                timestep: Tensor,
                encoder_hidden_states: Tensor,
                pooled_projections: Tensor,
                img_ids: Tensor,
                txt_ids: Tensor,
                guidance: Optional[Tensor] = None,
                x_embedder: Optional[nn.Module] = None) -> FluxState:
        """Embed tokens, timestep/guidance/pooled text, text and RoPE.

        Args:
            hidden_states: (B, N, in_channels) packed latent tokens (or what
                ``x_embedder`` expects, e.g. 128 for MERGE-L).
            timestep: (B,) flow-matching sigma in [0, 1]; scaled by 1000
                inside, as diffusers' forward does.
            encoder_hidden_states: (B, L, joint_attention_dim) T5 tokens.
            pooled_projections: (B, pooled_projection_dim) CLIP pooled.
            img_ids: (N, 3) image position ids (:meth:`latent_image_ids`).
            txt_ids: (L, 3) text position ids (zeros for FLUX.1).
            guidance: (B,) guidance scale for guidance-distilled models
                (FLUX.1-dev); also scaled by 1000 inside.
            x_embedder: replaces ``transformer.x_embedder``
                ((B, N, C') -> (B, N, D)).

        Returns:
            FluxState.
        """
        tf = self.transformer
        if hidden_states.ndim != 3:
            raise ValueError(
                'FluxDiT.prepare: hidden_states must be packed tokens '
                f'(B, N, C), got {tuple(hidden_states.shape)}; use '
                'FluxDiT.pack_latents on a (B, C, H, W) latent')
        if self.guidance_embeds and guidance is None:
            raise ValueError(
                'FluxDiT.prepare: this transformer has guidance_embeds=True '
                '(FLUX.1-dev); pass guidance (B,)')
        if txt_ids.ndim == 3:
            txt_ids = txt_ids[0]
        if img_ids.ndim == 3:
            img_ids = img_ids[0]
        if img_ids.shape[0] != hidden_states.shape[1]:
            raise ValueError(
                f'FluxDiT.prepare: img_ids has {img_ids.shape[0]} rows but '
                f'hidden_states has {hidden_states.shape[1]} tokens')
        embed = tf.x_embedder if x_embedder is None else x_embedder
        img = embed(hidden_states)
        timestep = timestep.to(img.dtype) * 1000
        if guidance is not None:
            guidance = guidance.to(img.dtype) * 1000
            temb = tf.time_text_embed(timestep, guidance, pooled_projections)
        else:
            temb = tf.time_text_embed(timestep, pooled_projections)
        txt = tf.context_embedder(encoder_hidden_states)
        rotary = tf.pos_embed(torch.cat((txt_ids, img_ids), dim=0))
        img_rotary = tf.pos_embed(img_ids)
        return FluxState(img=img, txt=txt, temb=temb, rotary=rotary,
                         img_rotary=img_rotary)

    def run_double_block(self, index: int, state: FluxState) -> FluxState:
        """Run frozen MMDiT block ``index`` on (txt, img); new state."""
        if not 0 <= index < self.num_double_blocks:
            raise IndexError(f'FluxDiT.run_double_block: index {index} '
                             f'outside 0..{self.num_double_blocks - 1}')
        if state.single_stage:
            raise RuntimeError('FluxDiT.run_double_block: the state is '
                               'already in the single stage')
        txt, img = self._call(self.double_blocks[index], state)
        return state.replace(txt=txt, img=img)

    def _call(self, block: nn.Module, state: FluxState):
        tf = self.transformer
        if torch.is_grad_enabled() and tf.gradient_checkpointing:
            # honour transformer.enable_gradient_checkpointing() as
            # diffusers' own forward does (same positional call)
            return tf._gradient_checkpointing_func(
                block, state.img, state.txt, state.temb, state.rotary, None)
        return block(
            hidden_states=state.img,
            encoder_hidden_states=state.txt,
            temb=state.temb,
            image_rotary_emb=state.rotary)

    def start_single_stage(self, state: FluxState) -> FluxState:
        """Mark the end of the double stage.

        The installed diffusers single block concatenates [txt; img] itself,
        so the streams stay split; ``state.joint`` builds the joint sequence
        on demand.
        """
        return state.replace(single_stage=True)

    def run_single_block(self, index: int, state: FluxState) -> FluxState:
        """Run frozen single-stream block ``index``; returns new state."""
        if not 0 <= index < self.num_single_blocks:
            raise IndexError(f'FluxDiT.run_single_block: index {index} '
                             f'outside 0..{self.num_single_blocks - 1}')
        if not state.single_stage:
            raise RuntimeError('FluxDiT.run_single_block: call '
                               'start_single_stage(state) first')
        txt, img = self._call(self.single_blocks[index], state)
        return state.replace(txt=txt, img=img)

    def finalize(self,
                 state: FluxState,
                 head: Optional[nn.Module] = None) -> Tensor:
        """Output head on the image tokens (text tokens dropped).

        Args:
            head: module with ``norm_out(x, temb)`` (AdaLayerNormContinuous)
                and ``proj_out``; default the frozen transformer.

        Returns:
            (B, N, out_channels) packed prediction (velocity for FLUX.1);
            :meth:`unpack_latents` turns it into (B, C, H, W).
        """
        head = self.transformer if head is None else head
        x = head.norm_out(state.img, state.temb)
        return head.proj_out(x)

    def dummy_inputs(self, height: int, width: int, text_tokens: int = 512
                     ) -> Tuple[Tensor, ...]:
        """Forward arguments for an image of ``height x width`` through
        FLUX's 8x VAE (FLOPs counting, tracing): packed latent tokens of
        (1, in_channels / 4, H/8, W/8), sigma 0.5, ``text_tokens`` T5
        embeddings (FLUX.1-dev's 512), the pooled CLIP vector, their
        position ids and guidance 3.5 when the model embeds it. Random
        values; dtype of the weights."""
        p = next(self.transformer.parameters())
        cfg = self.transformer.config
        h, w = height // 8, width // 8
        latent = torch.randn(1, self.in_channels // 4, h, w, dtype=p.dtype)
        args = (self.pack_latents(latent), torch.tensor([0.5], dtype=p.dtype),
                torch.randn(1, text_tokens, int(cfg.joint_attention_dim),
                            dtype=p.dtype),
                torch.randn(1, int(cfg.pooled_projection_dim), dtype=p.dtype),
                self.latent_image_ids(h, w, dtype=p.dtype),
                torch.zeros(text_tokens, 3, dtype=p.dtype))
        if self.guidance_embeds:
            args += (torch.tensor([3.5], dtype=p.dtype), )
        return args

    def forward(self,
                hidden_states: Tensor,
                timestep: Tensor,
                encoder_hidden_states: Tensor,
                pooled_projections: Tensor,
                img_ids: Tensor,
                txt_ids: Tensor,
                guidance: Optional[Tensor] = None) -> Tensor:
        """Plain FLUX forward, equal to ``transformer(...).sample``.

        Args: see :meth:`prepare`. Returns (B, N, out_channels).
        """
        state = self.prepare(hidden_states, timestep, encoder_hidden_states,
                             pooled_projections, img_ids, txt_ids, guidance)
        for index in range(self.num_double_blocks):
            state = self.run_double_block(index, state)
        state = self.start_single_stage(state)
        for index in range(self.num_single_blocks):
            state = self.run_single_block(index, state)
        return self.finalize(state)
