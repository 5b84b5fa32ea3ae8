"""InvPT (Ye & Xu, ECCV 2022): inverted-pyramid multi-task transformer decoder."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from unidense.registry import MODELS
from .multi_task_dense_head import MultiTaskDenseHead


def _conv_bn_relu(in_ch, out_ch, k=3, dilation=1):
    pad = dilation * (k // 2)
    return [nn.Conv2d(in_ch, out_ch, k, padding=pad, dilation=dilation,
                      bias=False), nn.BatchNorm2d(out_ch), nn.ReLU()]


def scale_embed(in_ch, out_ch, in_stride, out_stride):
    """InvPT's ``scale_embed`` generalised to any input stride: ConvT 3x3
    s2 (stride halves), Conv3x3 (same stride) or Conv3x3 s2 (stride
    doubles)."""
    if in_stride == out_stride:
        return nn.Conv2d(in_ch, out_ch, 3, padding=1)
    if in_stride == 2 * out_stride:
        return nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1,
                                  output_padding=1)
    if 2 * in_stride == out_stride:
        return nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1)
    raise ValueError(f'InvPTDecoder: cannot embed stride {in_stride} at '
                     f'stride {out_stride} (factor 2 at most)')


class InvPTAttention(nn.Module):
    """Joint spatial + cross-task attention of one UP-Transformer block.

    Tokens of all T tasks form one sequence. Queries: per-task depthwise
    Conv3x3 s2 + BN (half resolution), then a Linear shared by the tasks;
    keys / values: per-task average pooling (kernel = stride = ``kv_stride``,
    ceil mode), then shared Linears. Logits are scaled by ``dim^-0.5``.
    With a previous stage's logits (``messages['attn']``), these are
    upsampled x2 along the query grid per task, concatenated with the
    current ones along the heads and fused by a 1x1 conv (cross-scale
    attention message passing); the fused logits are passed on.
    """

    def __init__(self, num_tasks, dim, num_heads, kv_stride, fuse_messages):
        super().__init__()
        self.num_tasks = num_tasks
        self.num_heads = num_heads
        self.scale = dim**-0.5
        self.conv_proj_q = nn.ModuleList(
            nn.Sequential(nn.Conv2d(dim, dim, 3, stride=2, padding=1,
                                    groups=dim, bias=False),
                          nn.BatchNorm2d(dim)) for _ in range(num_tasks))
        self.pool = nn.AvgPool2d(kv_stride, kv_stride, ceil_mode=True)
        self.proj_q = nn.Linear(dim, dim)
        self.proj_k = nn.Linear(dim, dim)
        self.proj_v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.fuse_attn = nn.Conv2d(2 * num_heads, num_heads, 1) \
            if fuse_messages else None

    def _heads(self, x):
        b, n, c = x.shape
        return x.view(b, n, self.num_heads, c // self.num_heads).transpose(
            1, 2)

    def forward(self, maps, messages):
        """maps: T x (B, C, h, w) (already layer-normed); returns T x
        (B, C, hq, wq) at the query (half) resolution."""
        qs = [conv(m) for conv, m in zip(self.conv_proj_q, maps)]
        kv = [self.pool(m) for m in maps]
        qh, qw = qs[0].shape[-2:]
        q = torch.cat([t.flatten(2).transpose(1, 2) for t in qs], 1)
        kv = torch.cat([t.flatten(2).transpose(1, 2) for t in kv], 1)
        q = self._heads(self.proj_q(q))
        k = self._heads(self.proj_k(kv))
        v = self._heads(self.proj_v(kv))
        logits = q @ k.transpose(-1, -2) * self.scale
        prev = messages.get('attn')
        if prev is not None and self.fuse_attn is not None:
            b, nh, nq_prev, nk = prev.shape
            ph, pw = messages['query_hw']
            t = self.num_tasks
            prev = prev.view(b * nh, t, ph, pw, nk).permute(0, 1, 4, 2, 3)
            prev = F.interpolate(prev.reshape(b * nh, t * nk, ph, pw),
                                 size=(qh, qw), mode='bilinear',
                                 align_corners=False)
            prev = prev.view(b, nh, t, nk, qh * qw).permute(0, 1, 2, 4, 3)
            prev = prev.reshape(b, nh, t * qh * qw, nk)
            logits = self.fuse_attn(torch.cat([logits, prev], dim=1))
        messages['attn'] = logits
        messages['query_hw'] = (qh, qw)
        out = logits.softmax(-1) @ v
        out = self.proj(out.transpose(1, 2).flatten(2))
        b = out.shape[0]
        return [o.transpose(1, 2).reshape(b, -1, qh, qw)
                for o in out.chunk(self.num_tasks, dim=1)]


class InvPTBlock(nn.Module):
    """Pre-LN UP-Transformer block over all tasks' tokens: attention at
    half resolution, bilinearly upsampled back and added; then a residual
    MLP (ratio ``mlp_ratio``). T x (B, C, h, w) -> same."""

    def __init__(self, num_tasks, dim, num_heads, mlp_ratio, kv_stride,
                 drop_path, fuse_messages):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = InvPTAttention(num_tasks, dim, num_heads, kv_stride,
                                   fuse_messages)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(),
                                 nn.Linear(hidden, dim))
        # timm (and the torchvision it imports, ~1 s) only when used
        from timm.layers import DropPath
        self.drop_path = DropPath(drop_path) if drop_path > 0 else \
            nn.Identity()

    def forward(self, maps, messages):
        h, w = maps[0].shape[-2:]

        def ln(norm, m):
            return norm(m.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

        att = self.attn([ln(self.norm1, m) for m in maps], messages)
        out = []
        for m, a in zip(maps, att):
            a = F.interpolate(a, size=(h, w), mode='bilinear',
                              align_corners=False)
            m = m + self.drop_path(a)
            t = m.permute(0, 2, 3, 1)
            t = t + self.drop_path(self.mlp(self.norm2(t)))
            out.append(t.permute(0, 3, 1, 2))
        return out


@MODELS.register_module()
class InvPTDecoder(MultiTaskDenseHead):
    """InvPT's multi-task decoder (everything after the encoder).

    Expected features: three maps, finest first, at ``in_strides`` with
    ``in_channels``: ``[skip for stride 8, skip for stride 16, decoder
    input]``. InvPT on ViT-L feeds the token maps after blocks 6, 12 and the
    final norm, all 1024 channels at stride 16 (the default); with
    diffusion features (Diff-2-in-1) the estimator adds the SD neck's maps to
    them, or passes neck maps at strides (8, 16, 32).

    With C0 = embed_dim + pred_constant (576), C1 = C0 / 2, C2 = C0 / 4:

    1. ``scale_embed``: skip 0 -> C2 at stride 8 (ConvT 3x3 s2 from stride
       16), skip 1 -> C1 at stride 16 (Conv3x3);
    2. the decoder input is resized (bilinear) to stride 32;
    3. per task a preliminary decoder [Conv3x3 + BN + ReLU] x 2 (C_in ->
       C_in -> embed_dim) and a Conv1x1 -> K_t preliminary prediction
       (intermediate supervision); ``cat(feature, prediction)`` -> Conv1x1
       -> C0;
    4. three UP-Transformer stages at strides 32, 16, 8 (widths C0, C1, C2,
       ``num_heads`` 2, key/value pooling 2, 4, 8); stages 1 and 2 start with
       a per-task up-embedding (bilinear x2, [Conv3x3 dilation 2 + BN +
       ReLU] x 2) plus the backbone skip; attention logits pass from stage
       to stage (cross-scale message passing);
    5. after each stage a LayerNorm over all tasks' channels; per task
       stages 1, 2 -> Conv1x1 -> C0; all resized to stride 4 and summed;
       Conv3x3 + BN + ReLU;
    6. per task Conv1x1 -> K_t.

    The reference's unused parameters (the layer-18 scale embedding, the
    stage-0 reduction convs and message-fusion conv, one LayerNorm) are not
    built. Parameters at the defaults (NYUD-MT: semseg 40, depth 1, normal 3,
    edge 1): 91,320,206 = InvPT's 97,933,803 decoder + 25,965 heads minus
    6,639,562 unused; with ViT-L (304,133,120) the original is
    402,092,888. PASCAL-Context (5 tasks) likewise drops 6,972,202.

    Losses (``losses``, one per task in ``tasks`` order, each with its
    ``loss_weight``): NYUD semseg CE x1, depth L1 x1, normal L1(normalised)
    x10, edge balanced BCE (0.95) x50; PASCAL adds parts CE x2, saliency
    balanced CE x5. The preliminary predictions get the same losses and
    weights when ``intermediate_supervision`` (reported as
    ``'loss_inter_<task>'``). Predictions are resized to the GT size
    (bilinear) before the losses.

    Args:
        num_outputs (dict[str, int]): task -> output channels, in order
            (task names: semseg, depth, normal, edge, parsing, saliency).
        in_channels (Sequence[int]), in_strides (Sequence[int]): of the 3
            input maps.
        embed_dim (int): 512. pred_constant (int): 64.
        num_heads (int): 2. mlp_ratio (float): 4.
        drop_path (float): 0.15, InvPT's configured rate. The reference
            draws each stage's rate from ``linspace(0, 0.15, depth=1)``,
            i.e. 0 - its trained models effectively use no drop-path; pass
            0.0 to reproduce that.
        intermediate_supervision (bool): True.

    ``forward(feats)`` -> per task ``<task>`` (B, K_t, H/4, W/4) and
    ``inter_<task>`` (B, K_t, H/32, W/32) raw outputs. ``predict_by_feat``
    -> at the padded input size: ``semseg`` / ``parsing`` logits and
    ``sem_seg`` / ``parsing_ids`` argmax (B, 1, H, W), ``depth`` (clamped
    >= 0), unit ``normal``, ``saliency`` foreground probability (softmax
    when 2 channels, else sigmoid), ``edge`` sigmoid.
    """

    def __init__(self,
                 num_outputs: Dict[str, int] = MultiTaskDenseHead.NYUD_OUTPUTS,
                 in_channels: Sequence[int] = (1024, 1024, 1024),
                 in_strides: Sequence[int] = (16, 16, 16),
                 embed_dim: int = 512,
                 pred_constant: int = 64,
                 num_heads: int = 2,
                 mlp_ratio: float = 4.0,
                 drop_path: float = 0.15,
                 intermediate_supervision: bool = True,
                 losses=None,
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(num_outputs, losses=losses,
                         align_corners=align_corners, init_cfg=init_cfg)
        if len(in_channels) != 3 or len(in_strides) != 3:
            raise ValueError('InvPTDecoder: 3 input maps (skip 8, skip 16, '
                             'decoder input)')
        self.in_channels = list(in_channels)
        self.in_strides = [int(s) for s in in_strides]
        self.intermediate_supervision = intermediate_supervision
        tasks = self.tasks
        t = len(tasks)
        c0 = embed_dim + pred_constant
        dims = [c0, c0 // 2, c0 // 4]
        self.dims = dims
        self.scale_embed = nn.ModuleList([
            scale_embed(in_channels[0], dims[2], in_strides[0], 8),
            scale_embed(in_channels[1], dims[1], in_strides[1], 16)])
        cin = in_channels[2]
        self.preliminary_decoder = nn.ModuleDict({
            k: nn.Sequential(*_conv_bn_relu(cin, cin),
                             *_conv_bn_relu(cin, embed_dim))
            for k in tasks})
        self.intermediate_head = nn.ModuleDict(
            {k: nn.Conv2d(embed_dim, n, 1) for k, n in num_outputs.items()})
        self.mix_proj = nn.ModuleDict(
            {k: nn.Conv2d(embed_dim + n, c0, 1)
             for k, n in num_outputs.items()})
        self.up_embed = nn.ModuleList()
        self.stages = nn.ModuleList()
        self.norm_mts = nn.ModuleList()
        self.redu_chan = nn.ModuleList()
        for i, dim in enumerate(dims):
            if i > 0:
                self.up_embed.append(nn.ModuleList(
                    nn.Sequential(
                        nn.Upsample(scale_factor=2, mode='bilinear',
                                    align_corners=False),
                        *_conv_bn_relu(dims[i - 1], dim, dilation=2),
                        *_conv_bn_relu(dim, dim, dilation=2))
                    for _ in range(t)))
                self.redu_chan.append(nn.ModuleList(
                    nn.Conv2d(dim, c0, 1) for _ in range(t)))
            self.stages.append(InvPTBlock(t, dim, num_heads, mlp_ratio,
                                          2**(i + 1), drop_path,
                                          fuse_messages=i > 0))
            self.norm_mts.append(nn.LayerNorm(t * dim))
        self.mt_proj = nn.ModuleDict({
            k: nn.Sequential(nn.Conv2d(c0, c0, 3, padding=1),
                             nn.BatchNorm2d(c0), nn.ReLU())
            for k in tasks})
        self.heads = nn.ModuleDict(
            {k: nn.Conv2d(c0, n, 1) for k, n in num_outputs.items()})
        for m in self.stages.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        for m in self.mt_proj.values():
            nn.init.trunc_normal_(m[0].weight, std=0.02)

    @property
    def feature_specs(self):
        """``[(stride, channels), ...]`` of the expected maps, finest first
        (e.g. a ``MultiScaleFusionNeck``'s ``out_specs``)."""
        return list(zip(self.in_strides, self.in_channels))

    def forward(self, feats) -> Dict[str, torch.Tensor]:
        if isinstance(feats, torch.Tensor) or len(feats) != 3:
            raise ValueError('InvPTDecoder: expects 3 maps [skip 8, skip 16, '
                             'decoder input]')
        skip8 = self.scale_embed[0](feats[0])
        skip16 = self.scale_embed[1](feats[1])
        h8, w8 = skip8.shape[-2:]
        h32, w32 = max(h8 // 4, 1), max(w8 // 4, 1)
        x = F.interpolate(feats[2], size=(h32, w32), mode='bilinear',
                          align_corners=False)
        out = {}
        maps = []
        for k in self.tasks:
            f = self.preliminary_decoder[k](x)
            inter = self.intermediate_head[k](f)
            out[f'inter_{k}'] = inter
            maps.append(self.mix_proj[k](torch.cat([f, inter], 1)))
        messages = {}
        skips = [None, skip16, skip8]
        th, tw = h32 * 8, w32 * 8
        agg = [0.0] * len(self.tasks)
        for i, stage in enumerate(self.stages):
            if i > 0:
                new = []
                for m, emb in zip(maps, self.up_embed[i - 1]):
                    m = emb(m)
                    s = skips[i]
                    if s.shape[-2:] != m.shape[-2:]:
                        s = F.interpolate(s, size=m.shape[-2:],
                                          mode='bilinear',
                                          align_corners=False)
                    new.append(m + s)
                maps = new
            maps = stage(maps, messages)
            cat = torch.cat(maps, 1).permute(0, 2, 3, 1)
            normed = self.norm_mts[i](cat).permute(0, 3, 1, 2)
            for j, tm in enumerate(normed.chunk(len(self.tasks), dim=1)):
                if i > 0:
                    tm = self.redu_chan[i - 1][j](tm)
                agg[j] = agg[j] + F.interpolate(
                    tm, size=(th, tw), mode='bilinear', align_corners=False)
        for j, k in enumerate(self.tasks):
            out[k] = self.heads[k](self.mt_proj[k](agg[j]))
        return out

    def loss_by_feat(self, outputs, data_samples):
        return self.task_losses(outputs, data_samples,
                                self.intermediate_supervision)
