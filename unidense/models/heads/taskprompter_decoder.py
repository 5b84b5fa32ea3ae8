"""TaskPrompter (Ye & Xu, ICLR 2023): spatial-channel multi-task prompting."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from unidense.registry import MODELS
from .multi_task_dense_head import MultiTaskDenseHead


class PromptAttention(nn.Module):
    """ViT attention carrying task prompts, with the channel branch.

    Spatial: standard MHSA over ``[prompts; image tokens]``; the raw
    (unscaled, pre-softmax) logits are returned for decoding. Channel: each
    prompt -> ``token_trans`` Linear(C -> h*w) is a query over the image
    tokens' channels (channels as tokens, pixels as features), per window
    of an ``nh x nw`` grid; the raw logits (B, T, C, nh, nw) are returned.
    The prompts are updated with ``token_trans1`` Linear(h*w -> C) of the
    channel-attention *output* (``channel_update='attended'``, the paper's
    design; the released code projects the projected prompt instead,
    ``'prompt'``, leaving the computed attention unused - same parameters).

    Parameter names match timm's ViT ``Attention`` (``qkv``, ``proj``) so a
    pretrained ViT loads into it (``token_trans*`` stay new).
    """

    def __init__(self, dim, num_heads, token_grid, chan_windows,
                 channel_update='attended'):
        super().__init__()
        if channel_update not in ('attended', 'prompt'):
            raise ValueError("TaskPrompterDecoder: channel_update must be "
                             "'attended' or 'prompt'")
        self.num_heads = num_heads
        self.scale = (dim // num_heads)**-0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.h, self.w = token_grid
        self.nh, self.nw = chan_windows
        if self.h % self.nh or self.w % self.nw:
            raise ValueError(f'TaskPrompterDecoder: token grid {token_grid} '
                             f'not divisible into {chan_windows} windows')
        pixels = self.h * self.w
        self.token_trans = nn.Linear(dim, pixels)
        self.token_trans1 = nn.Linear(pixels, dim)
        self.chan_scale = (pixels // (self.nh * self.nw))**-0.5
        self.channel_update = channel_update

    def _windows(self, x):
        """(B, N, h*w) -> (B, nh*nw, N, win)."""
        b, n, _ = x.shape
        x = x.view(b, n, self.nh, self.h // self.nh, self.nw,
                   self.w // self.nw)
        return x.permute(0, 2, 4, 1, 3, 5).reshape(b, self.nh * self.nw, n,
                                                   -1)

    def _unwindow(self, x):
        """(B, nh*nw, N, win) -> (B, N, h*w)."""
        b, _, n, _ = x.shape
        x = x.view(b, self.nh, self.nw, n, self.h // self.nh,
                   self.w // self.nw)
        return x.permute(0, 3, 1, 4, 2, 5).reshape(b, n, -1)

    def forward(self, x, prompts):
        b, n_img, c = x.shape
        t = prompts.shape[1]
        seq = torch.cat([prompts, x], 1)
        qkv = self.qkv(seq).view(b, t + n_img, 3, self.num_heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        raw_spa = q @ k.transpose(-1, -2)
        out = (raw_spa * self.scale).softmax(-1) @ v
        out = self.proj(out.transpose(1, 2).reshape(b, t + n_img, c))
        p_out, x_out = out[:, :t], out[:, t:]
        chan_q = self.token_trans(prompts)  # (B, T, h*w)
        feats = x.transpose(1, 2)  # (B, C, h*w)
        qw, kw = self._windows(chan_q), self._windows(feats)
        raw_chan = qw @ kw.transpose(-1, -2)  # (B, nwin, T, C)
        if self.channel_update == 'attended':
            att = (raw_chan * self.chan_scale).softmax(-1) @ kw
            p_out = p_out + self.token_trans1(self._unwindow(att))
        else:
            p_out = p_out + self.token_trans1(chan_q)
        raw_chan = raw_chan.permute(0, 2, 3, 1).reshape(b, t, c, self.nh,
                                                        self.nw)
        return x_out, p_out, raw_spa, raw_chan


class PromptBlock(nn.Module):
    """Pre-LN ViT block; prompts and image tokens share LN and MLP
    (timm names ``norm1``, ``attn``, ``norm2``, ``mlp.fc1``, ``mlp.fc2``)."""

    def __init__(self, dim, num_heads, mlp_ratio, token_grid, chan_windows,
                 drop_path, channel_update):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = PromptAttention(dim, num_heads, token_grid, chan_windows,
                                    channel_update)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential()
        self.mlp.fc1 = nn.Linear(dim, hidden)
        self.mlp.act = nn.GELU()
        self.mlp.fc2 = nn.Linear(hidden, dim)
        # timm (and the torchvision it imports, ~1 s) only when used
        from timm.layers import DropPath
        self.drop_path = DropPath(drop_path) if drop_path > 0 else \
            nn.Identity()

    def forward(self, x, prompts):
        xa, pa, raw_spa, raw_chan = self.attn(self.norm1(x),
                                              self.norm1(prompts))
        x = x + self.drop_path(xa)
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        prompts = prompts + self.drop_path(pa)
        prompts = prompts + self.drop_path(self.mlp(self.norm2(prompts)))
        return x, prompts, raw_spa, raw_chan


@MODELS.register_module()
class TaskPrompterDecoder(MultiTaskDenseHead):
    """TaskPrompter: learnable task prompts carried through transformer
    blocks; task features decoded from the prompts' spatial and channel
    attention.

    Expected features: ONE token map (B, ``embed_dim``, h, w) at stride 16
    with (h, w) == ``token_grid`` (the channel branch has Linear layers
    over the h*w pixels, so the grid is fixed, as in the reference). In
    TaskPrompter it is the ViT patch embedding + position embedding; in
    Diff-2-in-1 the estimator adds the SD features brought to stride 16 by
    ``MultiScaleFusionNeck(out_specs=[(16, embed_dim)])`` (paper A.1, Eq.
    10). The ``blocks`` use timm ViT parameter names, so a pretrained timm
    ViT's ``blocks`` (and ``norm``) load with ``strict=False`` (only the
    ``token_trans`` layers stay new).

    Per block (``depth``): MHSA over [T prompts; tokens] + the channel
    branch (:class:`PromptAttention`). At ``tap_blocks`` (6, 12, 18) and
    after the final LayerNorm, per task t, with D = ``task_dim``,
    Df = ``fuse_dim``:

    * spatial: channel group g (of ``num_heads``) x the task's head-g raw
      prompt->pixel logits, + tokens, Conv1x1 -> D;
    * channel: each window's tokens x the task's per-channel raw logits for
      that window, + tokens, Conv1x1 -> D;
    * fuse: cat -> Conv1x1 -> Df, Conv3x3, BN, GELU, Conv1x1;
    * ``cross_task_reweight`` (PASCAL): a 1x1 conv stack on the
      prompt-to-prompt logits (B, heads, 1, T) gives T weights; the task
      feature becomes the weighted sum of all tasks' features.

    The four layer outputs are summed and upsampled x4 (bilinear, stride
    4); per task head Conv3x3 + BN + GELU + Conv1x1 -> K_t.

    Parameters at the defaults (NYUD-MT, ViT-L, 448x576 -> 28x36 tokens,
    D = Df = 768, 16 channel windows): 511,685,037 = TaskPrompter's
    513,505,709 minus the patch embedding (787,456) and position embedding
    (1,033,216), which stay with the encoder. PASCAL (D 300, Df 350, one
    window, reweighting, 32x32 tokens, 5 tasks): 401,104,864 minus its
    patch + position embeddings.

    Losses: one per task (see :class:`InvPTDecoder`), no intermediate
    supervision.

    Args:
        num_outputs (dict[str, int]): task -> channels, in order.
        embed_dim (int): 1024. depth (int): 24. num_heads (int): 16.
        mlp_ratio (float): 4. drop_path (float): 0.15 (linearly increasing).
        token_grid (tuple[int, int]): (h, w) of the tokens.
        chan_windows (tuple[int, int]): (nh, nw) channel-attention windows
            (NYUD 4x4, PASCAL 1x1).
        tap_blocks (Sequence[int]): 1-based blocks whose output is decoded
            (plus the final one).
        prompt_len (int): 1.
        task_dim (int), fuse_dim (int): D and Df.
        cross_task_reweight (bool).
        channel_update (str): ``'attended'`` or ``'prompt'`` (see
            :class:`PromptAttention`).
        output_bias (dict[str, float], optional): initial bias of a task's
            last convolution, e.g. ``dict(depth=3.76)``, the training
            scenes' mean depth in metres. The official decoder starts every
            output at about 0; with L1 on raw depth AdamW then moves the
            bias by about the learning rate per step, which a 40k-iteration
            schedule absorbs and a 300-iteration one does not. None: the
            official initialisation.

    ``forward(feats)`` -> per task (B, K_t, 4h, 4w) raw outputs, and
    ``'prompts'`` (B, T * prompt_len, embed_dim) final prompts.
    ``predict_by_feat``: as :class:`InvPTDecoder`.
    """

    def __init__(self,
                 num_outputs: Dict[str, int] = MultiTaskDenseHead.NYUD_OUTPUTS,
                 embed_dim: int = 1024,
                 depth: int = 24,
                 num_heads: int = 16,
                 mlp_ratio: float = 4.0,
                 drop_path: float = 0.15,
                 token_grid: Sequence[int] = (28, 36),
                 chan_windows: Sequence[int] = (4, 4),
                 tap_blocks: Sequence[int] = (6, 12, 18),
                 prompt_len: int = 1,
                 task_dim: int = 768,
                 fuse_dim: int = 768,
                 cross_task_reweight: bool = False,
                 channel_update: str = 'attended',
                 output_bias: Optional[Dict[str, float]] = None,
                 losses=None,
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(num_outputs, losses=losses,
                         align_corners=align_corners, init_cfg=init_cfg)
        if any(not 1 <= b < depth for b in tap_blocks):
            raise ValueError(f'TaskPrompterDecoder: tap_blocks {tap_blocks} '
                             f'must lie in [1, {depth})')
        self.embed_dim = embed_dim
        self.token_grid = tuple(int(s) for s in token_grid)
        self.tap_blocks = tuple(int(b) for b in tap_blocks)
        self.prompt_len = prompt_len
        self.num_heads = num_heads
        tasks = self.tasks
        t = len(tasks)
        self.task_prompts = nn.Parameter(torch.empty(t * prompt_len,
                                                     embed_dim))
        nn.init.trunc_normal_(self.task_prompts, mean=1.0, std=1.0)
        dpr = [drop_path * i / max(depth - 1, 1) for i in range(depth)]
        self.blocks = nn.ModuleList(
            PromptBlock(embed_dim, num_heads, mlp_ratio, self.token_grid,
                        tuple(chan_windows), dpr[i], channel_update)
            for i in range(depth))
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        n_layers = len(self.tap_blocks) + 1

        def per_task(make):
            return nn.ModuleList(
                nn.ModuleDict({k: make() for k in tasks})
                for _ in range(n_layers))

        self.fea_decode_spa = per_task(
            lambda: nn.Conv2d(embed_dim, task_dim, 1))
        self.fea_decode_chan = per_task(
            lambda: nn.Conv2d(embed_dim, task_dim, 1))
        self.fea_fuse = per_task(lambda: nn.Sequential(
            nn.Conv2d(2 * task_dim, fuse_dim, 1),
            nn.Conv2d(fuse_dim, fuse_dim, 3, padding=1),
            nn.BatchNorm2d(fuse_dim), nn.GELU(),
            nn.Conv2d(fuse_dim, fuse_dim, 1)))
        self.cross_task_reweight = cross_task_reweight
        if cross_task_reweight:
            pd = num_heads * prompt_len
            self.ctr_attn_conv = per_task(lambda: nn.Sequential(
                nn.Conv2d(pd, pd, 1), nn.GELU(), nn.Conv2d(pd, 1, 1)))
        self.heads = nn.ModuleDict()
        for k, n in num_outputs.items():
            head = nn.Sequential(
                nn.Conv2d(fuse_dim, fuse_dim, 3, padding=1),
                nn.BatchNorm2d(fuse_dim), nn.GELU(),
                nn.Conv2d(fuse_dim, n, 1))
            nn.init.trunc_normal_(head[0].weight, std=0.02)
            if output_bias and k in output_bias:
                nn.init.constant_(head[-1].bias, float(output_bias[k]))
            self.heads[k] = head
        unknown = set(output_bias or {}) - set(num_outputs)
        if unknown:
            raise ValueError(f'TaskPrompterDecoder: output_bias names '
                             f'{sorted(unknown)}, not tasks of '
                             f'{list(num_outputs)}')
        for name, m in self.blocks.named_modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    @property
    def feature_specs(self):
        """``[(stride, channels), ...]`` of the expected maps, finest first
        (e.g. a ``MultiScaleFusionNeck``'s ``out_specs``)."""
        return [(16, self.embed_dim)]

    def _decode(self, x, raw_spa, raw_chan, layer):
        b, n, c = x.shape
        h, w = self.token_grid
        x = x.transpose(1, 2).reshape(b, c, h, w)
        tp = self.prompts_total
        nheads = raw_spa.shape[1] * self.prompt_len
        gc = c // nheads
        feats = []
        for i, k in enumerate(self.tasks):
            s = i * self.prompt_len
            spa = raw_spa[:, :, s:s + self.prompt_len, tp:]
            spa = spa.reshape(b, nheads, h, w)  # heads x prompt_len maps
            f_spa = (x.view(b, nheads, gc, h, w) * spa.unsqueeze(2)).view(
                b, c, h, w) + x
            f_spa = self.fea_decode_spa[layer][k](f_spa)
            ch = raw_chan[:, i]  # (B, C, nh, nw)
            nh, nw = ch.shape[-2:]
            wgt = ch.repeat_interleave(h // nh, dim=2).repeat_interleave(
                w // nw, dim=3)
            f_chan = self.fea_decode_chan[layer][k](x * wgt + x)
            feats.append(self.fea_fuse[layer][k](
                torch.cat([f_spa, f_chan], 1)))
        if self.cross_task_reweight:
            new = []
            for i, k in enumerate(self.tasks):
                logits = raw_spa[:, :, i:i + 1, :tp]  # (B, heads, 1, T)
                wts = self.ctr_attn_conv[layer][k](logits)  # (B, 1, 1, T)
                new.append(sum(wts[:, :, :, j:j + 1] * feats[j]
                               for j in range(len(self.tasks))))
            feats = new
        return feats

    @property
    def prompts_total(self):
        return self.task_prompts.shape[0]

    def forward(self, feats) -> Dict[str, torch.Tensor]:
        x = feats if isinstance(feats, torch.Tensor) else feats[-1]
        if not isinstance(feats, torch.Tensor) and len(feats) != 1:
            raise ValueError('TaskPrompterDecoder: expects one token map')
        b, c, h, w = x.shape
        if (h, w) != self.token_grid or c != self.embed_dim:
            raise ValueError(f'TaskPrompterDecoder: tokens must be (B, '
                             f'{self.embed_dim}, {self.token_grid[0]}, '
                             f'{self.token_grid[1]}), got {tuple(x.shape)}')
        x = x.flatten(2).transpose(1, 2)
        prompts = self.task_prompts[None].expand(b, -1, -1)
        acc = [0.0] * len(self.tasks)
        layer = 0
        for idx, blk in enumerate(self.blocks):
            x, prompts, raw_spa, raw_chan = blk(x, prompts)
            if idx + 1 in self.tap_blocks:
                for j, f in enumerate(self._decode(x, raw_spa, raw_chan,
                                                   layer)):
                    acc[j] = acc[j] + f
                layer += 1
        x = self.norm(x)
        out = {}
        for j, f in enumerate(self._decode(x, raw_spa, raw_chan, layer)):
            k = self.tasks[j]
            f = F.interpolate(acc[j] + f, scale_factor=4, mode='bilinear',
                              align_corners=False)
            out[k] = self.heads[k](f)
        out['prompts'] = prompts
        return out
