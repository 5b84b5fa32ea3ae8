"""iDisc (Piccinelli et al., CVPR 2023): internal discretization for depth / normals."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from unidense.registry import MODELS
from unidense.utils.vector_ops import unit_vectors
from .bae_normal_head import normalize_normal_kappa
from .base_dense_head import BaseDenseHead
from .dense_targets import task_target
from .msdeform_pixel_decoder import sine_position_embedding


class IDiscAttention(nn.Module):
    """iDisc's single cross-attention layer (``AttentionLayer``).

    Pre-LayerNorm (eps 1e-6) on sink and source; ``q = Linear(sink)``,
    ``k, v = Linear(source)``; logits scaled by ``(hidden / heads)^-0.5``.
    With ``sink_competition`` (AFP) the softmax runs over the *sink* axis
    (each source pixel spreads one unit of attention over the IDRs), +eps,
    then rows are renormalised over the source axis, so each IDR is a
    weighted mean of pixel values; otherwise a standard softmax over the
    source axis (ISD). (B, Ns, sink_dim), (B, Nc, source_dim) ->
    (B, Ns, out_dim).
    """

    def __init__(self, sink_dim, hidden_dim, source_dim, out_dim,
                 num_heads=1, sink_competition=False, eps=1e-6):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (hidden_dim // num_heads)**-0.5
        self.sink_competition = sink_competition
        self.eps = eps
        self.norm = nn.LayerNorm(sink_dim, eps=eps)
        self.norm_context = nn.LayerNorm(source_dim, eps=eps)
        self.to_q = nn.Linear(sink_dim, hidden_dim)
        self.to_kv = nn.Linear(source_dim, hidden_dim * 2)
        self.to_out = nn.Linear(hidden_dim, out_dim)

    def forward(self, sink, source):
        b, ns, _ = sink.shape
        h = self.num_heads
        q = self.to_q(self.norm(sink))
        k, v = self.to_kv(self.norm_context(source)).chunk(2, dim=-1)
        q, k, v = (t.reshape(b, t.shape[1], h, -1).transpose(1, 2)
                   for t in (q, k, v))
        sim = q @ k.transpose(-1, -2) * self.scale
        if self.sink_competition:
            attn = sim.softmax(dim=-2) + self.eps
            attn = attn / attn.sum(dim=-1, keepdim=True)
        else:
            attn = sim.softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, ns, -1)
        return self.to_out(out)


def _mlp(dim, hidden):
    return nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.GELU(),
                         nn.Linear(hidden, dim))


class AFPBlock(nn.Module):
    """Adaptive feature partitioning at one resolution.

    Learnable priors ``mu`` (num_latents x latent_dim) are refined ``depth``
    times with *shared* weights: ``IDR += CrossAttn(IDR -> pixels)``
    (sink competition), ``IDR += MLP(IDR)``. (B, C, h, w) -> (B, num_latents,
    latent_dim).
    """

    def __init__(self, pixel_dim, latent_dim, num_latents, depth, num_heads,
                 expansion):
        super().__init__()
        self.depth = depth
        self.pixel_dim = pixel_dim
        self.mu = nn.Parameter(torch.randn(1, num_latents, latent_dim))
        self.cross_attn = IDiscAttention(latent_dim, latent_dim, pixel_dim,
                                         latent_dim, num_heads,
                                         sink_competition=True)
        self.mlp = _mlp(latent_dim, expansion * latent_dim)

    def forward(self, x):
        pixels = (x + sine_position_embedding(x, self.pixel_dim // 2)).flatten(
            2).transpose(1, 2)
        idrs = self.mu.expand(x.shape[0], -1, -1)
        for _ in range(self.depth):
            idrs = idrs + self.cross_attn(idrs, pixels)
            idrs = idrs + self.mlp(idrs)
        return idrs


class ISDBlock(nn.Module):
    """Internal scale discretization at one resolution.

    Pixels (+ sine PE) cross-attend ``depth`` times to the IDRs (standard
    softmax over IDRs) with an MLP after each, then ``LN, Linear, LN,
    Linear -> out_dim``. (B, C, h, w), (B, n, latent_dim) ->
    (B, out_dim, h, w).
    """

    def __init__(self, pixel_dim, latent_dim, depth, num_heads, expansion,
                 out_dim):
        super().__init__()
        self.pixel_dim = pixel_dim
        self.cross_attn = nn.ModuleList(
            IDiscAttention(pixel_dim, pixel_dim, latent_dim, pixel_dim,
                           num_heads) for _ in range(depth))
        self.mlp = nn.ModuleList(
            _mlp(pixel_dim, expansion * pixel_dim) for _ in range(depth))
        self.proj_output = nn.Sequential(
            nn.LayerNorm(pixel_dim), nn.Linear(pixel_dim, pixel_dim),
            nn.LayerNorm(pixel_dim), nn.Linear(pixel_dim, out_dim))

    def forward(self, x, idrs):
        b, _, h, w = x.shape
        pixels = (x + sine_position_embedding(x, self.pixel_dim // 2)).flatten(
            2).transpose(1, 2)
        for attn, mlp in zip(self.cross_attn, self.mlp):
            pixels = pixels + attn(pixels, idrs)
            pixels = pixels + mlp(pixels)
        out = self.proj_output(pixels)
        return out.transpose(1, 2).reshape(b, -1, h, w)


@MODELS.register_module()
class IDiscHead(BaseDenseHead):
    """iDisc: pixel decoder -> AFP (internal discretized representations) ->
    ISD, for depth or normals + kappa.

    Expected features, finest first, at strides 4, 8, 16, 32 of the input
    (``in_channels``; iDisc's Swin-L widths 192, 384, 768, 1536 by default,
    e.g. ``MultiScaleFusionNeck(out_specs=[(4, 192), (8, 384), (16, 768),
    (32, 1536)])`` in Diff-2-in-1).

    1. :class:`MSDeformAttnPixelDecoder` (hidden 256, 4 deformable layers, 4
       heads, 4 points, FFN 1024) -> per level raw and FPN outputs;
    2. the coarsest ``context_skip`` level(s) are dropped (1: AFP/ISD work at
       strides 16, 8, 4);
    3. AFP per resolution: ``num_latents`` (32) IDRs of ``latent_dim`` (128)
       from the raw outputs (``afp_depth`` 2 iterations, weights shared
       across iterations - the reference registers both iterations under
       one name, so its trained model and its 706,944 parameters are the
       shared version; Slot-Attention-style sharing is also the paper's
       iterative formulation);
    4. ISD per resolution on the FPN outputs (``isd_depth`` 2 layers) ->
       ``out_dim`` channels (depth: 1 = log depth; normal: 4 = xyz + kappa);
    5. every output is resized (bilinear, align_corners=True) to the finest
       (stride 4) size; depth -> ``exp``, normals -> unit xyz and
       ``kappa = ELU + 1.01``; the maps are averaged.

    Loss on the average resized to the GT size (bilinear for depth, bicubic
    for normals, align_corners=True, as the reference): depth
    :class:`SILogLoss` (lambda 0.85, x10, unbiased variance, pooled);
    normals :class:`AngMFNLLLoss`.

    Parameters at the defaults: 12,193,676 for normals (pixel decoder
    6,936,320 + AFP 706,944 + ISD 4,550,412) and 12,191,363 for depth -
    iDisc's head exactly. iDisc's ~207M includes its Swin-L encoder
    (~195.0M), which Diff-2-in-1 replaces by the frozen SD UNet + neck.

    Args:
        task (str): ``'depth'`` or ``'normal'``.
        in_channels (Sequence[int]): widths at strides 4, 8, 16, 32.
        hidden_dim, ffn_dim, decoder_depth, decoder_heads, num_points:
            pixel decoder.
        num_latents (int), latent_dim (int): IDRs per resolution (32 x 128).
        afp_depth (int), isd_depth (int): 2 and 2.
        num_heads (int): AFP/ISD attention heads (1). expansion (int): 4.
        context_skip (int): coarsest levels left out of AFP/ISD (1).

    ``forward(feats)`` -> at stride 4: ``'pred'`` (B, out_dim, H/4, W/4) the
    averaged map (depth metres, or xyz + kappa; the mean of unit normals is
    not renormalised, as iDisc), plus ``'depth'`` or ``'normal'`` /
    ``'kappa'``, and ``'idrs'`` (B, R * num_latents,
    latent_dim), the IDRs of all R resolutions (coarse first).
    """

    def __init__(self,
                 task: str = 'normal',
                 in_channels: Sequence[int] = (192, 384, 768, 1536),
                 hidden_dim: int = 256,
                 ffn_dim: int = 1024,
                 decoder_depth: int = 4,
                 decoder_heads: int = 4,
                 num_points: int = 4,
                 num_latents: int = 32,
                 latent_dim: int = 128,
                 afp_depth: int = 2,
                 isd_depth: int = 2,
                 num_heads: int = 1,
                 expansion: int = 4,
                 context_skip: int = 1,
                 losses=None,
                 align_corners: bool = True,
                 init_cfg: Optional[dict] = None):
        if task not in ('depth', 'normal'):
            raise ValueError(f"IDiscHead: task={task!r} must be 'depth' or "
                             "'normal'")
        if losses is None:
            losses = dict(type='AngMFNLLLoss') if task == 'normal' else dict(
                type='SILogLoss', variance_focus=0.85, scale=10.0,
                unbiased=True, reduction='batch', sqrt_eps=1e-6)
        super().__init__(tasks=task, losses=losses,
                         align_corners=align_corners, init_cfg=init_cfg)
        from .msdeform_pixel_decoder import MSDeformAttnPixelDecoder
        self.task = task
        self.in_channels = list(in_channels)
        self.out_dim = 4 if task == 'normal' else 1
        self.context_skip = int(context_skip)
        n_res = len(in_channels) - self.context_skip
        if n_res < 1:
            raise ValueError('IDiscHead: context_skip leaves no resolution')
        self.pixel_decoder = MSDeformAttnPixelDecoder(
            in_channels, hidden_dim, ffn_dim, decoder_depth, decoder_heads,
            num_points)
        self.afp = nn.ModuleList(
            AFPBlock(hidden_dim, latent_dim, num_latents, afp_depth,
                     num_heads, expansion) for _ in range(n_res))
        self.isd = nn.ModuleList(
            ISDBlock(hidden_dim, latent_dim, isd_depth, num_heads, expansion,
                     self.out_dim) for _ in range(n_res))

    @property
    def feature_specs(self):
        """``[(stride, channels), ...]`` of the expected maps, finest first
        (e.g. a ``MultiScaleFusionNeck``'s ``out_specs``)."""
        return list(zip((4, 8, 16, 32), self.in_channels))

    def forward(self, feats) -> Dict[str, torch.Tensor]:
        fpn, raw = self.pixel_decoder(list(feats))
        n = len(self.afp)
        # coarse -> fine, the coarsest `context_skip` levels dropped
        raw = raw[:n][::-1]
        fpn = fpn[:n][::-1]
        idrs = [afp(r) for afp, r in zip(self.afp, raw)]
        outs = [isd(f, q) for isd, f, q in zip(self.isd, fpn, idrs)]
        size = outs[-1].shape[-2:]
        maps = []
        for o in outs:
            o = F.interpolate(o, size=size, mode='bilinear',
                              align_corners=True)
            if self.task == 'depth':
                maps.append(torch.exp(o))
            else:
                xyz = o[:, :3] / torch.sqrt(o[:, :3].square().sum(
                    1, keepdim=True) + 1e-6)
                maps.append(torch.cat(
                    [xyz, normalize_normal_kappa(o)[:, 3:]], dim=1))
        pred = torch.stack(maps).mean(0)
        out = {'pred': pred, 'idrs': torch.cat(idrs, dim=1)}
        if self.task == 'depth':
            out['depth'] = pred
        else:
            out['normal'] = pred[:, :3]
            out['kappa'] = pred[:, 3:]
        return out

    def _to_size(self, pred, size):
        if tuple(pred.shape[-2:]) == tuple(size):
            return pred
        mode = 'bilinear' if self.task == 'depth' else 'bicubic'
        return F.interpolate(pred, size=tuple(size), mode=mode,
                             align_corners=True)

    def loss_by_feat(self, outputs, data_samples):
        gt, valid = task_target(data_samples, self.task,
                                outputs['pred'].device)
        pred = self._to_size(outputs['pred'], gt.shape[-2:])
        return {fn.loss_name: fn(pred, gt, valid) for fn in self.losses}

    def predict_by_feat(self, outputs, data_samples):
        """Depth: ``{'depth'}`` (B, 1, H, W); normals: ``{'normal'}`` unit
        (B, 3, H, W) and ``{'kappa'}`` (B, 1, H, W), at the padded input
        size."""
        pred = self._to_size(outputs['pred'], self.input_size(data_samples))
        if self.task == 'depth':
            return {'depth': pred}
        return {'normal': unit_vectors(pred[:, :3], dim=1),
                'kappa': pred[:, 3:]}
