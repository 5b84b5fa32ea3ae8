"""A timm image encoder (ViT / Swin) as a list of feature maps.

InvPT and TaskPrompter encode with a pretrained ViT-L/16 (or Swin); in
Diff-2-in-1 (paper A.1) those features are *added* to the diffusion features,
so the estimator needs the encoder as plain maps. timm builds the network;
pretrained weights are fetched by timm's own name only when asked
(``pretrained=True``) and never inside ``meta_device_build``.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from unidense.diffusion.freezing import freeze
from unidense.registry import MODELS

OUTPUTS = ('blocks', 'embed', 'features')


@MODELS.register_module()
class TimmEncoder(nn.Module):
    """Feature maps of a timm ViT or hierarchical model (Swin, ConvNeXt).

    ``output`` decides what :meth:`forward` returns, as (B, C, h, w) maps:

    * ``'blocks'`` (InvPT on a ViT): the patch tokens (prefix tokens
      dropped) after each block in ``block_indices`` (1-based, e.g. 6, 12)
      and, last, after the final LayerNorm; all at the patch stride.
    * ``'embed'`` (TaskPrompter): the patch embedding + position embedding
      (the cls position is discarded, as TaskPrompter). The ViT's blocks
      and final norm then live in the head (``TaskPrompterDecoder.blocks``
      uses timm's names); they are deleted here and, with
      ``pretrained=True``, their weights are kept in :attr:`handoff` for
      the estimator to load into the head.
    * ``'features'`` (Swin / any timm ``features_only`` model): the maps of
      ``out_indices`` (NHWC outputs are made NCHW).

    Args:
        model_name (str): timm name, e.g. ``'vit_large_patch16_384'`` (InvPT /
            TaskPrompter) or ``'swin_large_patch4_window12_384'``.
        pretrained (bool): load timm's published weights (needs the network
            or timm's cache; False = random init, what tests use).
        output (str): ``'blocks'``, ``'embed'`` or ``'features'``.
        block_indices (Sequence[int]): for ``'blocks'``.
        out_indices (Sequence[int]): for ``'features'``.
        img_size (int | tuple): the training crop (position embeddings are
            resampled to other sizes on the fly).
        drop_path_rate (float): stochastic depth (InvPT 0.15).
        frozen (bool): freeze the encoder (InvPT / TaskPrompter fine-tune it;
            default False).
        model_kwargs (dict): more ``timm.create_model`` arguments (e.g. a
            tiny ``embed_dim`` / ``depth`` for tests).

    ``forward(x)``: x (B, 3, H, W) in [-1, 1] (re-normalised here with the
    model's ``pretrained_cfg`` mean / std) -> list of (B, C_i, H / s_i,
    W / s_i) maps; ``out_channels`` and ``out_strides`` list C_i and s_i.
    """

    def __init__(self,
                 model_name: str = 'vit_large_patch16_384',
                 pretrained: bool = False,
                 output: str = 'blocks',
                 block_indices: Sequence[int] = (6, 12),
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 img_size=None,
                 drop_path_rate: float = 0.0,
                 frozen: bool = False,
                 model_kwargs: Optional[dict] = None):
        super().__init__()
        import timm
        from unidense.diffusion.pretrained import is_meta_build
        if output not in OUTPUTS:
            raise ValueError(f'TimmEncoder: output={output!r} must be one of '
                             f'{OUTPUTS}')
        kwargs = dict(model_kwargs or {})
        if img_size is not None:
            kwargs['img_size'] = img_size
        if drop_path_rate:
            kwargs['drop_path_rate'] = drop_path_rate
        if output == 'features':
            kwargs.update(features_only=True, out_indices=tuple(out_indices))
        else:
            kwargs.update(num_classes=0, dynamic_img_size=True)
        self.output = output
        pretrained = bool(pretrained) and not is_meta_build()
        try:
            self.model = timm.create_model(model_name, pretrained=pretrained,
                                           **kwargs)
        except Exception as exc:
            if not pretrained:
                raise
            from unidense.diffusion.pretrained import PretrainedNotFoundError
            raise PretrainedNotFoundError(
                f'TimmEncoder: could not load timm\'s pretrained '
                f'{model_name!r} ({type(exc).__name__}: {exc}); fetch it once '
                f'online (timm.create_model({model_name!r}, pretrained=True) '
                f'fills the Hugging Face cache) or set pretrained=False'
            ) from exc
        cfg = getattr(self.model, 'pretrained_cfg', None) or {}
        self.register_buffer('mean', torch.tensor(
            cfg.get('mean', (0.5, 0.5, 0.5)), device='cpu').view(1, 3, 1, 1),
            persistent=False)
        self.register_buffer('std', torch.tensor(
            cfg.get('std', (0.5, 0.5, 0.5)), device='cpu').view(1, 3, 1, 1),
            persistent=False)
        self.handoff: Dict[str, Dict[str, torch.Tensor]] = {}
        if output == 'features':
            info = self.model.feature_info
            self.out_channels = list(info.channels())
            self.out_strides = list(info.reduction())
            self._nhwc = str(getattr(self.model, 'output_fmt', 'NCHW')
                             ).endswith('NHWC')
        else:
            self.block_indices = [int(i) for i in block_indices]
            depth = len(self.model.blocks)
            if output == 'blocks' and any(not 1 <= i <= depth
                                          for i in self.block_indices):
                raise ValueError(f'TimmEncoder: block_indices '
                                 f'{self.block_indices} outside 1..{depth}')
            width = self.model.embed_dim
            stride = self.model.patch_embed.patch_size[0]
            n = len(self.block_indices) + 1 if output == 'blocks' else 1
            self.out_channels = [width] * n
            self.out_strides = [stride] * n
            if output == 'embed':
                if pretrained:  # the ViT blocks and norm go to the head
                    self.handoff = {
                        'blocks': self.model.blocks.state_dict(),
                        'norm': self.model.norm.state_dict()}
                self.model.blocks = nn.Identity()
                self.model.norm = nn.Identity()
        if frozen:
            freeze(self)

    def _vit_tokens(self, x):
        vit = self.model
        x = vit._pos_embed(vit.patch_embed(x))
        return vit.norm_pre(vit.patch_drop(x))

    def _to_map(self, tokens, hw):
        tokens = tokens[:, self.model.num_prefix_tokens:]
        return tokens.transpose(1, 2).reshape(tokens.shape[0], -1, *hw)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        x = ((x + 1) / 2 - self.mean.to(x)) / self.std.to(x)
        if self.output == 'features':
            outs = self.model(x)
            return [o.permute(0, 3, 1, 2).contiguous() if self._nhwc else o
                    for o in outs]
        s = self.out_strides[0]
        hw = (x.shape[-2] // s, x.shape[-1] // s)
        tokens = self._vit_tokens(x)
        if self.output == 'embed':
            return [self._to_map(tokens, hw)]
        outs = []
        for i, blk in enumerate(self.model.blocks):
            tokens = blk(tokens)
            if i + 1 in self.block_indices:
                outs.append(self._to_map(tokens, hw))
        outs.append(self._to_map(self.model.norm(tokens), hw))
        return outs

    @staticmethod
    def add_to(feats: Sequence[torch.Tensor],
               extra: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """``feats[i] + extra[i]`` with ``extra[i]`` resized (bilinear) to
        ``feats[i]``'s size: Diff-2-in-1's merging of the diffusion and the
        original encoder's features (paper A.1)."""
        if len(feats) != len(extra):
            raise ValueError(f'TimmEncoder.add_to: {len(extra)} encoder maps '
                             f'for {len(feats)} feature maps')
        out = []
        for f, e in zip(feats, extra):
            if e.shape[-2:] != f.shape[-2:]:
                e = F.interpolate(e, size=f.shape[-2:], mode='bilinear',
                                  align_corners=False)
            out.append(f + e.to(f.dtype))
        return out
