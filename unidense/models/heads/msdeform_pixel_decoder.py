"""Multi-scale deformable-attention pixel decoder (Mask2Former-style, as iDisc)."""
import math
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from unidense.registry import MODELS


def sine_position_embedding(x: torch.Tensor, num_feats: int,
                            temperature: float = 10000.0) -> torch.Tensor:
    """DETR's normalised sine embedding of a (B, C, H, W) map's grid:
    (B, 2 * num_feats, H, W), y features first (scale 2 pi)."""
    b, _, h, w = x.shape
    eps, scale = 1e-6, 2 * math.pi
    y = torch.arange(1, h + 1, device=x.device, dtype=torch.float32)
    xx = torch.arange(1, w + 1, device=x.device, dtype=torch.float32)
    y = (y / (h + eps) * scale)[:, None].expand(h, w)
    xx = (xx / (w + eps) * scale)[None, :].expand(h, w)
    dim_t = torch.arange(num_feats, device=x.device, dtype=torch.float32)
    dim_t = temperature**(2 * torch.div(dim_t, 2, rounding_mode='floor') /
                          num_feats)
    pos_x = xx[..., None] / dim_t
    pos_y = y[..., None] / dim_t
    pos_x = torch.stack([pos_x[..., 0::2].sin(), pos_x[..., 1::2].cos()],
                        dim=3).flatten(2)
    pos_y = torch.stack([pos_y[..., 0::2].sin(), pos_y[..., 1::2].cos()],
                        dim=3).flatten(2)
    pos = torch.cat([pos_y, pos_x], dim=2).permute(2, 0, 1)
    return pos.unsqueeze(0).expand(b, -1, -1, -1).to(x.dtype)


class MSDeformAttn(nn.Module):
    """Multi-scale deformable attention (Zhu et al., Deformable DETR), pure
    PyTorch (``grid_sample``) - no compiled op needed.

    ``forward(query (B, Lq, C), reference_points (B, Lq, L, 2) in [0, 1],
    value (B, Lv, C), spatial_shapes [(H_l, W_l)], level_start)`` ->
    (B, Lq, C).
    """

    def __init__(self, dim=256, n_levels=4, n_heads=8, n_points=4):
        super().__init__()
        if dim % n_heads:
            raise ValueError('MSDeformAttn: dim must be divisible by heads')
        self.dim, self.n_levels = dim, n_levels
        self.n_heads, self.n_points = n_heads, n_points
        self.sampling_offsets = nn.Linear(dim, n_heads * n_levels * n_points *
                                          2)
        self.attention_weights = nn.Linear(dim, n_heads * n_levels * n_points)
        self.value_proj = nn.Linear(dim, dim)
        self.output_proj = nn.Linear(dim, dim)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.zeros_(self.sampling_offsets.weight)
        thetas = torch.arange(self.n_heads, dtype=torch.float32) * (
            2.0 * math.pi / self.n_heads)
        grid = torch.stack([thetas.cos(), thetas.sin()], -1)
        grid = (grid / grid.abs().max(-1, keepdim=True)[0]).view(
            self.n_heads, 1, 1, 2).repeat(1, self.n_levels, self.n_points, 1)
        for i in range(self.n_points):
            grid[:, :, i, :] *= i + 1
        with torch.no_grad():
            if self.sampling_offsets.bias.device.type != 'meta':
                self.sampling_offsets.bias.copy_(grid.view(-1))
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)
        for lin in (self.value_proj, self.output_proj):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, query, reference_points, value, spatial_shapes):
        b, lq, _ = query.shape
        nh, nl, npt = self.n_heads, self.n_levels, self.n_points
        v = self.value_proj(value).view(b, -1, nh, self.dim // nh)
        offsets = self.sampling_offsets(query).view(b, lq, nh, nl, npt, 2)
        weights = self.attention_weights(query).view(b, lq, nh, nl * npt)
        weights = weights.softmax(-1).view(b, lq, nh, nl, npt)
        norm = torch.tensor([[w, h] for h, w in spatial_shapes],
                            dtype=query.dtype, device=query.device)
        loc = reference_points[:, :, None, :, None, :] + \
            offsets / norm[None, None, None, :, None, :]
        grids = 2 * loc - 1
        sizes = [h * w for h, w in spatial_shapes]
        outs = []
        for lvl, (v_l, (h, w)) in enumerate(zip(v.split(sizes, dim=1),
                                                spatial_shapes)):
            v_l = v_l.flatten(2).transpose(1, 2).reshape(b * nh, -1, h, w)
            g = grids[:, :, :, lvl].transpose(1, 2).flatten(0, 1)
            outs.append(F.grid_sample(v_l, g, mode='bilinear',
                                      padding_mode='zeros',
                                      align_corners=False))
        # (B*nh, C/nh, Lq, L, P)
        sampled = torch.stack(outs, dim=-2)
        attn = weights.transpose(1, 2).reshape(b * nh, 1, lq, nl, npt)
        out = (sampled * attn).sum((-1, -2)).view(b, self.dim, lq)
        return self.output_proj(out.transpose(1, 2))


class MSDeformEncoderLayer(nn.Module):
    """Pre-norm deformable self-attention over all levels + FFN."""

    def __init__(self, dim, ffn_dim, n_levels, n_heads, n_points):
        super().__init__()
        self.self_attn = MSDeformAttn(dim, n_levels, n_heads, n_points)
        self.norm1 = nn.LayerNorm(dim)
        self.linear1 = nn.Linear(dim, ffn_dim)
        self.linear2 = nn.Linear(ffn_dim, dim)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, src, pos, ref, shapes):
        src = src + self.self_attn(self.norm1(src) + pos, ref, src, shapes)
        return src + self.linear2(F.gelu(self.linear1(self.norm2(src))))


def _conv_bn_gelu(in_ch, out_ch, k):
    conv = nn.Conv2d(in_ch, out_ch, k, padding=k // 2, bias=False)
    nn.init.kaiming_uniform_(conv.weight, a=1)
    return nn.Sequential(conv, nn.BatchNorm2d(out_ch), nn.GELU())


@MODELS.register_module()
class MSDeformAttnPixelDecoder(nn.Module):
    """iDisc's pixel decoder (Piccinelli et al., CVPR 2023, 4.2 of the brief).

    Per level: Conv1x1 -> ``hidden_dim`` + GroupNorm(1), sine positional
    encoding, a learned level embedding; ``depth`` pre-norm deformable
    encoder layers over all levels jointly (``num_heads`` heads,
    ``num_points`` points per head and level, FFN ``ffn_dim``, GELU).
    Outputs per level: "raw" = Conv1x1 + BN + GELU of the encoded tokens;
    "fpn" (top-down from the coarsest) = Conv3x3 + BN + GELU of (lateral
    Conv1x1 + BN + GELU of the input map + raw + nearest-upsampled previous
    fpn output; the coarsest adds only its raw output).

    Args:
        in_channels (Sequence[int]): widths of the input maps, finest first
            (iDisc Swin-L: 192, 384, 768, 1536 at strides 4-32).
        hidden_dim (int): 256. ffn_dim (int): 1024. depth (int): 4.
        num_heads (int): 4. num_points (int): 4.

    ``forward(feats)``: list of (B, C_l, H_l, W_l), finest first. Returns
    ``(fpn_outputs, raw_outputs)``, each a list of (B, hidden_dim, H_l, W_l),
    finest first. 6,936,320 parameters at the defaults (iDisc's, counted).
    """

    def __init__(self, in_channels: Sequence[int] = (192, 384, 768, 1536),
                 hidden_dim: int = 256, ffn_dim: int = 1024, depth: int = 4,
                 num_heads: int = 4, num_points: int = 4):
        super().__init__()
        n = len(in_channels)
        self.in_channels = list(in_channels)
        self.hidden_dim = hidden_dim
        self.input_adapters = nn.ModuleList()
        for c in in_channels:
            conv = nn.Conv2d(c, hidden_dim, 1)
            nn.init.xavier_uniform_(conv.weight)
            nn.init.zeros_(conv.bias)
            self.input_adapters.append(
                nn.Sequential(conv, nn.GroupNorm(1, hidden_dim)))
        self.level_embed = nn.Parameter(torch.randn(n, hidden_dim))
        self.layers = nn.ModuleList(
            MSDeformEncoderLayer(hidden_dim, ffn_dim, n, num_heads,
                                 num_points) for _ in range(depth))
        self.out_convs = nn.ModuleList(
            _conv_bn_gelu(hidden_dim, hidden_dim, 1) for _ in in_channels)
        self.lateral_convs = nn.ModuleList(
            _conv_bn_gelu(c, hidden_dim, 1) for c in in_channels)
        self.fpn_convs = nn.ModuleList(
            _conv_bn_gelu(hidden_dim, hidden_dim, 3) for _ in in_channels)

    @staticmethod
    def reference_points(shapes, device, dtype):
        refs = []
        for h, w in shapes:
            ry, rx = torch.meshgrid(
                torch.linspace(0.5, h - 0.5, h, device=device, dtype=dtype),
                torch.linspace(0.5, w - 0.5, w, device=device, dtype=dtype),
                indexing='ij')
            refs.append(torch.stack([rx.reshape(-1) / w, ry.reshape(-1) / h],
                                    -1))
        ref = torch.cat(refs, 0)
        return ref[None, :, None, :].expand(1, -1, len(shapes), 2)

    def forward(self, feats: List[torch.Tensor]):
        if len(feats) != len(self.in_channels):
            raise ValueError(f'MSDeformAttnPixelDecoder: expected '
                             f'{len(self.in_channels)} maps, got {len(feats)}')
        srcs, pos = [], []
        shapes = [tuple(int(s) for s in f.shape[-2:]) for f in feats]
        for lvl, (f, adapter) in enumerate(zip(feats, self.input_adapters)):
            srcs.append(adapter(f).flatten(2).transpose(1, 2))
            p = sine_position_embedding(f, self.hidden_dim // 2)
            pos.append(p.flatten(2).transpose(1, 2) + self.level_embed[lvl])
        src = torch.cat(srcs, 1)
        pos = torch.cat(pos, 1).to(src.dtype)
        ref = self.reference_points(shapes, src.device, src.dtype)
        ref = ref.expand(src.shape[0], -1, -1, -1)
        for layer in self.layers:
            src = layer(src, pos, ref, shapes)
        b = src.shape[0]
        raw = []
        for (h, w), y, conv in zip(shapes, src.split([h * w for h, w in
                                                      shapes], 1),
                                   self.out_convs):
            raw.append(conv(y.transpose(1, 2).reshape(b, -1, h, w)))
        fpn = [None] * len(feats)
        prev = None
        for i in range(len(feats) - 1, -1, -1):
            lat = self.lateral_convs[i](feats[i])
            if prev is None:
                y = lat + F.interpolate(raw[i], size=lat.shape[-2:],
                                        mode='nearest')
            else:
                y = lat + raw[i] + F.interpolate(prev, size=lat.shape[-2:],
                                                 mode='nearest')
            prev = fpn[i] = self.fpn_convs[i](y)
        return fpn, raw
