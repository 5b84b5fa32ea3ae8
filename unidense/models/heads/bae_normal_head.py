"""Bae et al. (ICCV 2021) surface-normal decoder with uncertainty-guided sampling."""
import math
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from unidense.registry import MODELS
from unidense.utils.vector_ops import unit_vectors, vector_length
from .base_dense_head import BaseDenseHead
from .dense_targets import task_target


class WSConv2d(nn.Conv2d):
    """Conv2d with weight standardisation (per output filter: zero mean,
    unit (unbiased) std + 1e-5), as Bae's ``GN`` decoder."""

    def forward(self, x):
        w = self.weight
        w = w - w.mean(dim=(1, 2, 3), keepdim=True)
        w = w / (w.flatten(1).std(dim=1).view(-1, 1, 1, 1) + 1e-5)
        return F.conv2d(x, w, self.bias, self.stride, self.padding,
                        self.dilation, self.groups)


class BaeUpBlock(nn.Module):
    """Resize to the skip (bilinear, align_corners=True), concat it, then
    [Conv3x3 -> Norm -> LeakyReLU(0.01)] x 2.

    ``norm='GN'``: weight-standardised convs + GroupNorm(8) (NYU);
    ``'BN'``: plain convs + BatchNorm (ScanNet).
    (B, in_ch, h, w), (B, skip_ch, H, W) -> (B, out_ch, H, W).
    """

    def __init__(self, in_ch, out_ch, norm='GN'):
        super().__init__()
        if norm not in ('GN', 'BN'):
            raise ValueError(f"BaeNormalHead: norm={norm!r} must be 'GN' or "
                             "'BN'")
        conv = WSConv2d if norm == 'GN' else nn.Conv2d

        def make_norm(c):
            return nn.GroupNorm(8, c) if norm == 'GN' else nn.BatchNorm2d(c)

        self.net = nn.Sequential(
            conv(in_ch, out_ch, 3, padding=1), make_norm(out_ch),
            nn.LeakyReLU(),
            conv(out_ch, out_ch, 3, padding=1), make_norm(out_ch),
            nn.LeakyReLU())

    def forward(self, x, skip):
        x = F.interpolate(x, size=skip.shape[-2:], mode='bilinear',
                          align_corners=True)
        return self.net(torch.cat([x, skip], dim=1))


def normalize_normal_kappa(out, min_kappa=0.01):
    """(B, 4, ...) raw -> unit xyz (divided by norm + 1e-10) and
    ``kappa = ELU(raw) + 1 + min_kappa`` (> 0.01)."""
    xyz, kappa = out[:, :3], out[:, 3:]
    xyz = xyz / (vector_length(xyz, dim=1) + 1e-10)
    return torch.cat([xyz, F.elu(kappa) + 1.0 + min_kappa], dim=1)


@torch.no_grad()
def uncertainty_guided_points(pred, valid=None, sampling_ratio=0.4,
                              importance_ratio=0.7, generator=None):
    """Bae's ``sample_points``: pixels to refine at one level.

    Args:
        pred (Tensor): (B, 4, H, W) upsampled coarse prediction (kappa in
            channel 3).
        valid (Tensor, optional): (B, 1, H0, W0) ground-truth validity;
            nearest-resized to (H, W), invalid pixels are ranked last.
        sampling_ratio: N = floor(ratio * H * W) points per image.
        importance_ratio: the floor(ratio * N) lowest-kappa pixels; the rest
            are drawn uniformly without replacement from the remaining
            pixels, per image.
        generator: a CPU ``torch.Generator`` for the uniform part, or a
            list of B (one stream per image); None: the global state.

    Returns:
        idx (LongTensor): (B, N) flat pixel indices (row * W + col).
        coords (Tensor): (B, 1, N, 2) grid_sample coordinates (x, y) in
        [-1, 1], align_corners=True convention.
    """
    b, _, h, w = pred.shape
    n = int(sampling_ratio * h * w)
    if n < 1:
        raise ValueError(f'BaeNormalHead: sampling_ratio {sampling_ratio} '
                         f'selects no pixel of a {h}x{w} map')
    uncertainty = -pred[:, 3].float().clone()
    if valid is not None:
        invalid = F.interpolate(valid.float(), size=(h, w),
                                mode='nearest')[:, 0] < 0.5
        uncertainty[invalid] = -1e4
    order = uncertainty.view(b, -1).argsort(dim=1, descending=True)
    n_imp = int(importance_ratio * n)
    importance = order[:, :n_imp]
    remaining = order[:, n_imp:]
    n_cov = n - n_imp
    if n_cov > 0:
        gens = list(generator) if isinstance(generator, (list, tuple)) \
            else [generator] * b
        perm = torch.stack([
            torch.randperm(remaining.shape[1], generator=gens[i],
                           device='cpu')[:n_cov]
            for i in range(b)]).to(order.device)
        idx = torch.cat([importance, remaining.gather(1, perm)], dim=1)
    else:
        idx = importance
    rows = torch.div(idx, w, rounding_mode='floor')
    cols = idx % w
    x = cols.to(pred.dtype) / max(w - 1, 1) * 2 - 1
    y = rows.to(pred.dtype) / max(h - 1, 1) * 2 - 1
    return idx, torch.stack([x, y], dim=-1).unsqueeze(1)


@MODELS.register_module()
class BaeNormalHead(BaseDenseHead):
    """Surface normals + concentration kappa (Bae, Budvytis, Cipolla, ICCV
    2021), the decoder of Diff-2-in-1's released normal model.

    Expected features (``MultiScaleFusionNeck`` ``out_specs``), finest
    first: ``[(2, 24), (4, 40), (8, 64), (16, 176), (32, 2048)]`` - strides 2,
    4, 8, 16, 32 of the input with EfficientNet-B5's widths
    (``in_channels``).

    Decoder: ``d0 = Conv1x1(f32)``; four up-blocks (:class:`BaeUpBlock`)
    ``d1..d4`` at strides 16, 8, 4, 2 with ``up_channels`` (1024, 512, 256,
    128); coarse output ``Conv3x3(d2) -> 4`` at stride 8 (xyz normalised,
    ``kappa = ELU + 1.01``). Three refinement levels (strides 4, 2, 1) each
    upsample the previous prediction x2 (bilinear, align_corners=True) and
    run a pixel-wise MLP (``mlp_channels`` 128: 3 hidden ReLU layers, then 4
    outputs) on ``cat(feature one level coarser, previous prediction)``
    interpolated at the query pixels (features d2, d3, d4).

    * Training (``self.training`` and ``sample`` not False): only
      ``floor(sampling_ratio * H * W)`` pixels per level are refined - the
      ``importance_ratio`` share with the lowest kappa (GT-invalid pixels
      last), the rest uniformly at random - and written into the upsampled
      map; the MLP outputs at those points are returned for the loss.
    * Test: every pixel is refined.

    Loss (``UG_NLL_ours``, Diff-2-in-1 stage 1): the sum over the 4 levels of
    the configured normal loss (default :class:`AngMFNLLLoss`); the stride-8
    map is upsampled to the GT size (bilinear, align_corners=True), the
    refined levels use only their sampled points with GT and mask sampled
    there (nearest). In eval mode (no sampled points) the four full maps are
    all compared at the GT size.

    Parameters at the default (full-size) widths: 44,081,552 - Bae's
    decoder exactly (brief 3.2). Bae's full model (EfficientNet-B5
    28,340,784 + this) is 72.4M; in Diff-2-in-1 the encoder is replaced by
    the frozen SD UNet + ``MultiScaleFusionNeck`` (21,921,488 used
    parameters), so the head is the decoder only.

    Args:
        in_channels (Sequence[int]): widths at strides 2, 4, 8, 16, 32.
        up_channels (Sequence[int]): d1..d4 widths.
        mlp_channels (int): refinement MLP width.
        norm (str): ``'GN'`` (weight standardisation + GroupNorm(8), NYU,
            Diff-2-in-1) or ``'BN'``.
        sampling_ratio (float), importance_ratio (float): 0.4 and 0.7.
        losses (dict | list[dict]): default ``AngMFNLLLoss``.
        align_corners (bool): True, as Bae.

    ``forward(feats, gt_valid=None, sample=None)`` returns (H, W = input
    size = 2 x the finest feature):

    * ``'normal'`` (B, 3, H, W), ``'kappa'`` (B, 1, H, W) > 0.01 (the
      finest level; unit vectors in test mode - when sampling, unrefined
      pixels keep the bilinearly upsampled coarse values, as Bae);
    * ``'pred_s8'``, ``'pred_s4'``, ``'pred_s2'``, ``'pred_s1'``: (B, 4, H/s,
      W/s) xyz + kappa at every level;
    * when sampling: ``'points_s4'``, ``'points_s2'``, ``'points_s1'`` (B, 4,
      N) refined MLP outputs and ``'coords_s4'``... (B, 1, N, 2) their
      grid_sample coordinates.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (24, 40, 64, 176, 2048),
                 up_channels: Sequence[int] = (1024, 512, 256, 128),
                 mlp_channels: int = 128,
                 norm: str = 'GN',
                 sampling_ratio: float = 0.4,
                 importance_ratio: float = 0.7,
                 losses=dict(type='AngMFNLLLoss'),
                 align_corners: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(tasks='normal', losses=losses,
                         align_corners=align_corners, init_cfg=init_cfg)
        in_channels = list(in_channels)
        up_channels = list(up_channels)
        if len(in_channels) != 5 or len(up_channels) != 4:
            raise ValueError('BaeNormalHead: in_channels needs 5 widths '
                             '(strides 2..32) and up_channels 4')
        self.in_channels = in_channels
        self.sampling_ratio = float(sampling_ratio)
        self.importance_ratio = float(importance_ratio)
        c0 = in_channels[4]
        self.conv2 = nn.Conv2d(c0, c0, 1)
        prev = c0
        ups = []
        for skip, out in zip(in_channels[3::-1], up_channels):
            ups.append(BaeUpBlock(prev + skip, out, norm))
            prev = out
        self.up1, self.up2, self.up3, self.up4 = ups
        self.out_conv_res8 = nn.Conv2d(up_channels[1], 4, 3, padding=1)

        def mlp(in_ch):
            m = mlp_channels
            return nn.Sequential(
                nn.Conv1d(in_ch + 4, m, 1), nn.ReLU(),
                nn.Conv1d(m, m, 1), nn.ReLU(),
                nn.Conv1d(m, m, 1), nn.ReLU(),
                nn.Conv1d(m, 4, 1))

        self.out_conv_res4 = mlp(up_channels[1])
        self.out_conv_res2 = mlp(up_channels[2])
        self.out_conv_res1 = mlp(up_channels[3])

    @property
    def feature_specs(self):
        """``[(stride, channels), ...]`` of the expected maps, finest first
        (e.g. a ``MultiScaleFusionNeck``'s ``out_specs``)."""
        return list(zip((2, 4, 8, 16, 32), self.in_channels))

    def forward(self, feats, gt_valid: Optional[torch.Tensor] = None,
                sample: Optional[bool] = None,
                generators=None) -> Dict[str, torch.Tensor]:
        if isinstance(feats, torch.Tensor) or len(feats) != 5:
            raise ValueError('BaeNormalHead: expects 5 maps at strides 2, 4, '
                             '8, 16, 32 (finest first)')
        for i, (f, c) in enumerate(zip(feats, self.in_channels)):
            if f.shape[1] != c:
                raise ValueError(f'BaeNormalHead: feats[{i}] has {f.shape[1]}'
                                 f' channels, expected {c}')
        sample = self.training if sample is None else sample
        f2, f4, f8, f16, f32 = feats
        d0 = self.conv2(f32)
        d1 = self.up1(d0, f16)
        d2 = self.up2(d1, f8)
        d3 = self.up3(d2, f4)
        d4 = self.up4(d3, f2)
        pred = normalize_normal_kappa(self.out_conv_res8(d2))
        out = {'pred_s8': pred}
        levels = ((4, d2, self.out_conv_res4), (2, d3, self.out_conv_res2),
                  (1, d4, self.out_conv_res1))
        for stride, feat, mlp in levels:
            h, w = pred.shape[-2] * 2, pred.shape[-1] * 2
            up = F.interpolate(pred, size=(h, w), mode='bilinear',
                               align_corners=True)
            b = up.shape[0]
            if sample:
                idx, coords = uncertainty_guided_points(
                    up.detach(), gt_valid, self.sampling_ratio,
                    self.importance_ratio, generators)
                fs = F.grid_sample(feat, coords, mode='bilinear',
                                   align_corners=True)[:, :, 0]
                ps = F.grid_sample(pred, coords, mode='bilinear',
                                   align_corners=True)[:, :, 0]
                points = normalize_normal_kappa(mlp(torch.cat([fs, ps], 1)))
                new = up.flatten(2).scatter(
                    2, idx.unsqueeze(1).expand(-1, 4, -1), points)
                pred = new.view(b, 4, h, w)
                out[f'points_s{stride}'] = points
                out[f'coords_s{stride}'] = coords
            else:
                fm = F.interpolate(feat, size=(h, w), mode='bilinear',
                                   align_corners=True)
                pred = normalize_normal_kappa(
                    mlp(torch.cat([fm, up], 1).flatten(2))).view(b, 4, h, w)
            out[f'pred_s{stride}'] = pred
        out['normal'] = pred[:, :3]
        out['kappa'] = pred[:, 3:]
        return out

    def loss(self, feats, data_samples) -> Dict[str, torch.Tensor]:
        """Forward with the GT mask steering the sampling, then the loss."""
        _, valid = task_target(data_samples, 'normal', feats[0].device)
        # per-image streams when the estimator seeds samples (train_seed),
        # so the points do not depend on how the batch was split
        seeds = [s.metainfo.get('train_noise_seed') for s in data_samples]
        gens = [torch.Generator().manual_seed(int(x)) for x in seeds] \
            if seeds and all(x is not None for x in seeds) else None
        return self.loss_by_feat(
            self.forward(feats, gt_valid=valid, generators=gens),
            data_samples)

    def predict(self, feats, data_samples) -> Dict[str, torch.Tensor]:
        """Test mode (all pixels refined) even if the head is training."""
        return self.predict_by_feat(self.forward(feats, sample=False),
                                    data_samples)

    def loss_by_feat(self, outputs, data_samples):
        gt, valid = task_target(data_samples, 'normal',
                                outputs['pred_s8'].device)
        size = gt.shape[-2:]
        losses = {}
        for loss_fn in self.losses:
            total = 0.0
            for stride in (8, 4, 2, 1):
                if f'coords_s{stride}' in outputs:
                    coords = outputs[f'coords_s{stride}']
                    g = F.grid_sample(gt.to(coords.dtype), coords,
                                      mode='nearest', align_corners=True)
                    m = F.grid_sample(valid.to(coords.dtype), coords,
                                      mode='nearest', align_corners=True)
                    total = total + loss_fn(outputs[f'points_s{stride}'],
                                            g[:, :, 0], m[:, :, 0] > 0.5)
                else:
                    pred = F.interpolate(outputs[f'pred_s{stride}'],
                                         size=size, mode='bilinear',
                                         align_corners=True)
                    total = total + loss_fn(pred, gt, valid)
            losses[loss_fn.loss_name] = total
        return losses

    def predict_by_feat(self, outputs, data_samples):
        """``{'normal': (B, 3, H, W) unit, 'kappa': (B, 1, H, W)}`` at the
        padded input size (bilinear, align_corners=True)."""
        size = self.input_size(data_samples)
        pred = self.resize(outputs['pred_s1'], size)
        return {'normal': unit_vectors(pred[:, :3], dim=1),
                'kappa': pred[:, 3:]}


def expected_angular_error(kappa: torch.Tensor) -> torch.Tensor:
    """AngMF expected angular error (radians) for concentration ``kappa``:
    ``2 kappa / (kappa^2 + 1) + pi exp(-kappa pi) / (1 + exp(-kappa pi))``
    (Bae et al., for visualising uncertainty)."""
    e = torch.exp(-kappa * math.pi)
    return 2 * kappa / (kappa.square() + 1) + math.pi * e / (1 + e)
