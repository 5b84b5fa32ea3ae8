"""VPD's depth decoder (Zhao et al., ICCV 2023; mmseg 1.x ``VPDDepthHead``)."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from unidense.registry import MODELS
from .base_dense_head import BaseDenseHead
from .dense_targets import task_target


@MODELS.register_module()
class VPDDepthHead(BaseDenseHead):
    """Metric depth from four SD-UNet maps (VPD, NYUv2).

    Expected features: ``SDUNetFeatures(taps='vpd')`` output directly (no
    neck), finest first at strides 8, 16, 32, 64 of the input with
    ``in_channels`` (320, 640, 1280, 1280) for SD-1.5.

    1. the stride-64 map is nearest-upsampled x2 and concatenated with the
       stride-32 map;
    2. stride 8: Conv3x3 s2 -> GN(16) -> ReLU -> Conv3x3 s2; stride 16:
       Conv3x3 s2; both now at stride 32;
    3. concat -> Conv1x1 -> ``embed_dim`` (1536) -> GN(16) -> ReLU, cropped
       by ``fmap_border`` (mmseg's 480-in-512 padding trick);
    4. 3 x [ConvT k2 s2 (no bias) -> BN -> ReLU] with ``num_filters`` (32)
       -> stride 4; Conv3x3 -> ``deconv_channels`` (192) -> BN -> ReLU; two
       bilinear x2 upsamplings -> stride 1;
    5. Conv3x3 -> ReLU -> Conv3x3 -> 1 -> ``sigmoid * max_depth``.

    Init: trunc-normal(0.02) for the encoder-side convs, normal(0.001) for
    the decoder (de)convs, as mmseg.

    Parameters at full-size defaults: 11,537,409 (VPD's head exactly; its
    text adapter, 1,181,952, belongs to ``SDUNetFeatures``).

    Loss: SILog (lambda 0.5, per image, mmseg) on the prediction resized to
    the GT size (bilinear).

    ``forward(feats) -> {'depth': (B, 1, H', W')}`` in (0, max_depth) metres,
    ``H' = 32 * (h32 - fmap_border[0])`` for the stride-32 map height h32,
    i.e. the input size without a border crop. ``predict_by_feat`` resizes
    to the padded input size (bilinear).
    """

    def __init__(self,
                 in_channels: Sequence[int] = (320, 640, 1280, 1280),
                 embed_dim: int = 1536,
                 num_deconv: int = 3,
                 num_filters: int = 32,
                 deconv_channels: int = 192,
                 max_depth: float = 10.0,
                 fmap_border=(0, 0),
                 losses=dict(type='SILogLoss', variance_focus=0.5,
                             reduction='image', sqrt_eps=0.0, eps=1e-6),
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(tasks='depth', losses=losses,
                         align_corners=align_corners, init_cfg=init_cfg)
        c8, c16, c32, c64 = in_channels
        self.in_channels = list(in_channels)
        self.max_depth = float(max_depth)
        self.fmap_border = tuple(fmap_border)
        self.conv1 = nn.Sequential(
            nn.Conv2d(c8, c8, 3, stride=2, padding=1), nn.GroupNorm(16, c8),
            nn.ReLU(), nn.Conv2d(c8, c8, 3, stride=2, padding=1))
        self.conv2 = nn.Conv2d(c16, c16, 3, stride=2, padding=1)
        self.conv3 = nn.Sequential(
            nn.Conv2d(c8 + c16 + c32 + c64, embed_dim, 1),
            nn.GroupNorm(16, embed_dim), nn.ReLU())
        layers = []
        prev = embed_dim
        for _ in range(num_deconv):
            layers += [nn.ConvTranspose2d(prev, num_filters, 2, stride=2,
                                          bias=False),
                       nn.BatchNorm2d(num_filters), nn.ReLU()]
            prev = num_filters
        layers += [nn.Conv2d(prev, deconv_channels, 3, padding=1),
                   nn.BatchNorm2d(deconv_channels), nn.ReLU(),
                   nn.Upsample(scale_factor=2, mode='bilinear',
                               align_corners=False),
                   nn.Upsample(scale_factor=2, mode='bilinear',
                               align_corners=False)]
        self.decoder = nn.Sequential(*layers)
        self.last_layer_depth = nn.Sequential(
            nn.Conv2d(deconv_channels, deconv_channels, 3, padding=1),
            nn.ReLU(), nn.Conv2d(deconv_channels, 1, 3, padding=1))
        for m in list(self.conv1.modules()) + list(self.conv2.modules()) + \
                list(self.conv3.modules()):
            if isinstance(m, nn.Conv2d):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        for m in list(self.decoder.modules()) + list(
                self.last_layer_depth.modules()):
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, std=0.001)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    @property
    def feature_specs(self):
        """``[(stride, channels), ...]`` of the expected maps, finest first
        (e.g. a ``MultiScaleFusionNeck``'s ``out_specs``)."""
        return list(zip((8, 16, 32, 64), self.in_channels))

    def forward(self, feats) -> Dict[str, torch.Tensor]:
        if isinstance(feats, torch.Tensor) or len(feats) != 4:
            raise ValueError('VPDDepthHead: expects 4 maps at strides 8, 16, '
                             '32, 64 (finest first)')
        f8, f16, f32, f64 = feats
        top = F.interpolate(f64, size=f32.shape[-2:], mode='nearest')
        x = torch.cat([self.conv1(f8), self.conv2(f16), f32, top], dim=1)
        x = self.conv3(x)
        bh, bw = self.fmap_border
        if bh or bw:
            x = x[:, :, :x.shape[2] - bh, :x.shape[3] - bw]
        depth = torch.sigmoid(self.last_layer_depth(self.decoder(x)))
        return {'depth': depth * self.max_depth}

    def loss_by_feat(self, outputs, data_samples):
        gt, valid = task_target(data_samples, 'depth',
                                outputs['depth'].device)
        pred = F.interpolate(outputs['depth'], size=gt.shape[-2:],
                             mode='bilinear', align_corners=self.align_corners)
        return {fn.loss_name: fn(pred, gt, valid) for fn in self.losses}
