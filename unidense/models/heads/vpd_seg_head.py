"""VPD's semantic segmentation decoder: Semantic FPN (FPN neck + FPNHead)."""
import math
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from unidense.registry import MODELS
from .base_dense_head import BaseDenseHead
from .dense_targets import task_target


def _conv_bn_relu(in_ch, out_ch):
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
                         nn.BatchNorm2d(out_ch), nn.ReLU())


@MODELS.register_module()
class VPDSegHead(BaseDenseHead):
    """Semantic FPN on SD-UNet maps (VPD ADE20K: mmseg ``FPN`` + ``FPNHead``).

    Expected features: ``SDUNetFeatures(taps='vpd', use_attn_maps=True,
    text='class_names')`` output directly, finest first at strides 8, 16,
    32, 64 of the input; SD-1.5 with 150 classes: ``in_channels`` (320, 790,
    1430, 1280) (the 16x16 / 32x32 maps carry +150 cross-attention
    channels).

    FPN: lateral Conv1x1 -> ``channels`` (bias, no norm), top-down nearest
    upsampling + add, Conv3x3 per level. FPNHead: per level ``max(1,
    log2(stride / finest stride))`` x [Conv3x3 (no bias) -> BN -> ReLU ->
    (bilinear x2 unless finest)], summed at the finest stride; Dropout2d(0.1)
    + Conv1x1 -> ``num_classes`` logits.

    Parameters at full-size defaults: 7,510,166 (FPN 3,339,264; FPNHead
    4,170,902). VPD fine-tunes the UNet as well; that is not part of this
    head.

    Loss: :class:`CrossEntropyLoss` (ignore 255) on the logits resized to
    the GT size (bilinear, align_corners=False).

    ``forward(feats) -> {'seg_logits': (B, K, H/8, W/8)}``;
    ``predict_by_feat`` -> ``{'seg_logits': (B, K, H, W), 'sem_seg':
    (B, 1, H, W) long argmax}`` at the padded input size.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (320, 790, 1430, 1280),
                 in_strides: Sequence[int] = (8, 16, 32, 64),
                 channels: int = 256,
                 num_classes: int = 150,
                 dropout_ratio: float = 0.1,
                 task: str = 'semseg',
                 losses=dict(type='CrossEntropyLoss', ignore_index=255),
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(tasks=task, losses=losses,
                         align_corners=align_corners, init_cfg=init_cfg)
        if len(in_channels) != len(in_strides):
            raise ValueError('VPDSegHead: in_channels and in_strides differ '
                             'in length')
        self.in_channels = list(in_channels)
        self.in_strides = [int(s) for s in in_strides]
        self.lateral_convs = nn.ModuleList(
            nn.Conv2d(c, channels, 1) for c in in_channels)
        self.fpn_convs = nn.ModuleList(
            nn.Conv2d(channels, channels, 3, padding=1) for _ in in_channels)
        self.scale_heads = nn.ModuleList()
        s0 = in_strides[0]
        for s in in_strides:
            n = max(1, int(math.log2(s) - math.log2(s0)))
            layers = []
            for k in range(n):
                layers.append(_conv_bn_relu(channels, channels))
                if s != s0:
                    layers.append(nn.Upsample(scale_factor=2, mode='bilinear',
                                              align_corners=align_corners))
            self.scale_heads.append(nn.Sequential(*layers))
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 \
            else nn.Identity()
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)
        nn.init.normal_(self.conv_seg.weight, std=0.01)
        nn.init.zeros_(self.conv_seg.bias)

    @property
    def feature_specs(self):
        """``[(stride, channels), ...]`` of the expected maps, finest first
        (e.g. a ``MultiScaleFusionNeck``'s ``out_specs``)."""
        return list(zip(self.in_strides, self.in_channels))

    def forward(self, feats) -> Dict[str, torch.Tensor]:
        if isinstance(feats, torch.Tensor) or len(feats) != len(
                self.in_channels):
            raise ValueError(f'VPDSegHead: expects {len(self.in_channels)} '
                             'maps, finest first')
        lats = [conv(f) for conv, f in zip(self.lateral_convs, feats)]
        for i in range(len(lats) - 1, 0, -1):
            lats[i - 1] = lats[i - 1] + F.interpolate(
                lats[i], size=lats[i - 1].shape[-2:], mode='nearest')
        outs = [conv(x) for conv, x in zip(self.fpn_convs, lats)]
        x = self.scale_heads[0](outs[0])
        for i in range(1, len(outs)):
            y = self.scale_heads[i](outs[i])
            x = x + self.resize(y, x.shape[-2:])
        return {'seg_logits': self.conv_seg(self.dropout(x))}

    def loss_by_feat(self, outputs, data_samples):
        logits = outputs['seg_logits']
        gt, valid = task_target(data_samples, self.tasks[0], logits.device)
        logits = self.resize(logits, gt.shape[-2:])
        return {fn.loss_name: fn(logits, gt, valid) for fn in self.losses}

    def predict_by_feat(self, outputs, data_samples):
        logits = self.resize(outputs['seg_logits'],
                             self.input_size(data_samples))
        return {'seg_logits': logits,
                'sem_seg': logits.argmax(dim=1, keepdim=True)}
