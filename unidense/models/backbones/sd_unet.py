"""SD UNet denoiser with access to its down / mid / up intermediate tensors.

Two ways in:

* ``forward(..., return_features=True)`` runs diffusers' own forward and
  records the intermediate tensors with hooks (:func:`unet_taps`).
* The stage API splits the forward like :class:`PixArtDiT`'s, so that two
  UNets (JointNet's RGB and depth branches) can exchange tensors between
  stages::

      state = unet.prepare(latent, t, text)          # embeddings + conv_in
      for i in range(unet.num_down_blocks):
          state = unet.run_down_block(i, state)      # residuals grow
      state = unet.run_mid_block(state)
      for i in range(unet.num_up_blocks):
          state = unet.run_up_block(i, state)        # residuals consumed
      out = unet.finalize(state)                     # norm, act, conv_out

  Chaining the stages reproduces ``unet(...).sample`` exactly.
"""
import contextlib
from dataclasses import dataclass, replace
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from unidense.registry import MODELS
from .frozen_network_backbone import FrozenNetworkBackbone


@dataclass
class UNetState:
    """What the next UNet stage needs.

    Attributes:
        sample: (B, C, h, w) hidden state: the ``conv_in`` output after
            :meth:`SDUNet.prepare`, a down block's output, the mid-block
            output, an up block's output.
        residuals: skip connections still to be consumed, oldest first: the
            ``conv_in`` output, then each down block's layer and downsampler
            outputs; up blocks take theirs from the end.
        emb: (B, D_t) time (+ class / added) embedding, activated.
        text: (B, L, D) cross-attention states.
        text_bias: (B, 1, L) additive cross-attention bias or None.
        attention_mask: (B, 1, N) additive self-attention bias or None.
        cross_attention_kwargs: passed to the attention processors.
        forward_upsample_size: the latent is not a multiple of the total
            downsampling, so up blocks get their target sizes.
    """
    sample: Tensor
    residuals: Tuple[Tensor, ...]
    emb: Tensor
    text: Tensor
    text_bias: Optional[Tensor] = None
    attention_mask: Optional[Tensor] = None
    cross_attention_kwargs: Optional[dict] = None
    forward_upsample_size: bool = False

    def replace(self, **changes) -> 'UNetState':
        """A copy with some fields changed (states are not mutated)."""
        return replace(self, **changes)


def _to_bias(mask: Optional[Tensor], dtype) -> Optional[Tensor]:
    """(B, N) keep=1 / drop=0 mask -> (B, 1, N) additive bias, as diffusers."""
    if mask is None:
        return None
    return ((1 - mask.to(dtype)) * -10000.0).unsqueeze(1)


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

    @property
    def num_down_blocks(self) -> int:
        return len(self.unet.down_blocks)

    @property
    def num_up_blocks(self) -> int:
        return len(self.unet.up_blocks)

    # ------------------------------------------------------------------
    # stage API (same arithmetic as UNet2DConditionModel.forward)
    # ------------------------------------------------------------------
    def _embed(self, sample, timestep, encoder_hidden_states, timestep_cond,
               class_labels, added_cond_kwargs):
        """Time / class / added embeddings and the processed text."""
        unet = self.unet
        emb = unet.time_embedding(
            unet.get_time_embed(sample=sample, timestep=timestep),
            timestep_cond)
        class_emb = unet.get_class_embed(sample=sample,
                                         class_labels=class_labels)
        if class_emb is not None:
            emb = (torch.cat([emb, class_emb], dim=-1)
                   if unet.config.class_embeddings_concat else emb +
                   class_emb)
        aug_emb = unet.get_aug_embed(
            emb=emb, encoder_hidden_states=encoder_hidden_states,
            added_cond_kwargs=added_cond_kwargs)
        if unet.config.addition_embed_type == 'image_hint':
            aug_emb, hint = aug_emb
            sample = torch.cat([sample, hint], dim=1)
        emb = emb + aug_emb if aug_emb is not None else emb
        if unet.time_embed_act is not None:
            emb = unet.time_embed_act(emb)
        text = unet.process_encoder_hidden_states(
            encoder_hidden_states=encoder_hidden_states,
            added_cond_kwargs=added_cond_kwargs)
        return sample, emb, text

    def prepare(self,
                sample: Tensor,
                timestep,
                encoder_hidden_states: Tensor,
                timestep_cond: Optional[Tensor] = None,
                attention_mask: Optional[Tensor] = None,
                encoder_attention_mask: Optional[Tensor] = None,
                class_labels: Optional[Tensor] = None,
                added_cond_kwargs: Optional[dict] = None,
                cross_attention_kwargs: Optional[dict] = None,
                conv_in: Optional[nn.Module] = None) -> UNetState:
        """Embeddings and ``conv_in``: the state before the first down block.

        Args:
            sample: (B, C_in, h, w) noisy latent.
            timestep: (B,) or scalar step in [0, 1000).
            encoder_hidden_states: (B, L, cross_attention_dim).
            attention_mask, encoder_attention_mask: (B, N) / (B, L) with
                1 keep, 0 drop, or None.
            conv_in: replaces ``unet.conv_in`` (e.g. a wider input conv).

        Returns:
            UNetState with ``sample`` = ``residuals[0]`` = conv_in output
            (B, C_0, h, w).
        """
        unet = self.unet
        up_factor = 2**unet.num_upsamplers
        forward_upsample_size = any(d % up_factor for d in sample.shape[-2:])
        attention_mask = _to_bias(attention_mask, sample.dtype)
        text_bias = _to_bias(encoder_attention_mask, sample.dtype)
        if unet.config.center_input_sample:
            sample = 2 * sample - 1.0
        sample, emb, text = self._embed(sample, timestep,
                                        encoder_hidden_states, timestep_cond,
                                        class_labels, added_cond_kwargs)
        sample = (unet.conv_in if conv_in is None else conv_in)(sample)
        return UNetState(sample=sample, residuals=(sample, ), emb=emb,
                         text=text, text_bias=text_bias,
                         attention_mask=attention_mask,
                         cross_attention_kwargs=cross_attention_kwargs,
                         forward_upsample_size=forward_upsample_size)

    def _attention_kwargs(self, block, state: UNetState) -> dict:
        if not getattr(block, 'has_cross_attention', False):
            return {}
        return dict(encoder_hidden_states=state.text,
                    attention_mask=state.attention_mask,
                    cross_attention_kwargs=state.cross_attention_kwargs,
                    encoder_attention_mask=state.text_bias)

    def run_down_block(self, index: int, state: UNetState) -> UNetState:
        """Down block ``index``: new ``sample`` (B, C_i, h_i, w_i); its layer
        and downsampler outputs are appended to ``residuals``."""
        block = self.unet.down_blocks[index]
        sample, res = block(hidden_states=state.sample, temb=state.emb,
                            **self._attention_kwargs(block, state))
        return state.replace(sample=sample,
                             residuals=state.residuals + tuple(res))

    def run_mid_block(self, state: UNetState) -> UNetState:
        """Mid block: ``sample`` (B, C_mid, h / 2^n, w / 2^n)."""
        block = self.unet.mid_block
        if block is None:
            return state
        kwargs = self._attention_kwargs(block, state)
        return state.replace(sample=block(state.sample, state.emb, **kwargs))

    def run_up_block(self, index: int, state: UNetState) -> UNetState:
        """Up block ``index``: consumes the last ``len(block.resnets)``
        residuals; new ``sample`` (upsampled unless the last block)."""
        block = self.unet.up_blocks[index]
        n = len(block.resnets)
        res, rest = state.residuals[-n:], state.residuals[:-n]
        upsample_size = None
        if index < self.num_up_blocks - 1 and state.forward_upsample_size:
            upsample_size = rest[-1].shape[2:]
        kwargs = self._attention_kwargs(block, state)
        sample = block(hidden_states=state.sample, temb=state.emb,
                       res_hidden_states_tuple=res,
                       upsample_size=upsample_size, **kwargs)
        return state.replace(sample=sample, residuals=rest)

    def finalize(self, state: UNetState,
                 head: Optional[nn.Module] = None) -> Tensor:
        """Output head (``conv_norm_out``, ``conv_act``, ``conv_out``; or a
        module with those) -> (B, C_out, h, w) prediction."""
        head = self.unet if head is None else head
        sample = state.sample
        if head.conv_norm_out:
            sample = head.conv_act(head.conv_norm_out(sample))
        return head.conv_out(sample)

    def forward_in_stages(self, sample: Tensor, timestep,
                          encoder_hidden_states: Tensor,
                          **kwargs) -> Tensor:
        """:meth:`prepare` + every stage + :meth:`finalize`; equals
        ``unet(...).sample``. ``kwargs`` go to :meth:`prepare`."""
        state = self.prepare(sample, timestep, encoder_hidden_states,
                             **kwargs)
        for index in range(self.num_down_blocks):
            state = self.run_down_block(index, state)
        state = self.run_mid_block(state)
        for index in range(self.num_up_blocks):
            state = self.run_up_block(index, state)
        return self.finalize(state)

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
