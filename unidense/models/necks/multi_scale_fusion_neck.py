"""Diff-2-in-1's feature fusion module (Eq. 9-10), with relative sizes."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

from unidense.registry import MODELS


def _norm(kind, channels, affine=True, eps=1e-5):
    if kind == 'BN':
        return nn.BatchNorm2d(channels, eps=eps, affine=affine)
    if kind == 'GN':
        return nn.GroupNorm(math.gcd(32, channels), channels, eps=eps,
                            affine=affine)
    raise ValueError(f"MultiScaleFusionNeck: norm={kind!r} must be 'BN' or "
                     "'GN'")


class FusionResBlock(nn.Module):
    """BigGAN-style residual block of the Diff-2-in-1 fusion module.

    ``a = ReLU(N(x))``; ``h = conv3(ReLU(N(conv3(a))))``; ``out = h +
    shortcut(a)`` with a 1x1 shortcut when widths differ (the reference
    applies ReLU in place, so its shortcut also sees ``a``). Norms are
    non-affine (eps 1e-4), convs spectrally normalised when ``sn``.
    (B, in_ch, h, w) -> (B, out_ch, h, w).
    """

    def __init__(self, in_ch, out_ch, norm='BN', sn=True):
        super().__init__()
        wrap = (lambda m: spectral_norm(m, eps=1e-4)) if sn else (
            lambda m: m)
        self.norm1 = _norm(norm, in_ch, affine=False, eps=1e-4)
        self.conv1 = wrap(nn.Conv2d(in_ch, out_ch, 3, padding=1))
        self.norm2 = _norm(norm, out_ch, affine=False, eps=1e-4)
        self.conv2 = wrap(nn.Conv2d(out_ch, out_ch, 3, padding=1))
        self.shortcut = wrap(nn.Conv2d(in_ch, out_ch, 1)) \
            if in_ch != out_ch else nn.Identity()

    def forward(self, x):
        a = F.relu(self.norm1(x))
        h = self.conv2(F.relu(self.norm2(self.conv1(a))))
        return h + self.shortcut(a)


@MODELS.register_module()
class MultiScaleFusionNeck(nn.Module):
    """Fuse UNet feature levels top-down and extend the stride range.

    Diff-2-in-1 (Eq. 9-10): the coarsest level is projected
    (``Proj``: bilinear resize to its target stride + 1x1 conv, no bias);
    every finer level ``i`` becomes ``ResBlk(cat(Up(f_{i+1}),
    Proj_i(x_i)))`` - ``Conv(Up(f_{i-1}), f_i)`` in the paper. Strides finer
    than the finest level come from ``ConvT(k2, s2) + norm`` steps (the first
    from ``ReLU(norm(f))``, later ones from ``cat(ReLU(P), Up(that base))``,
    outputs pre-activation as the reference); strides coarser than the
    coarsest level come from ``Conv3x3 s2 + norm`` steps.

    Args:
        in_channels (list[int]): widths of the input maps, e.g.
            ``SDUNetFeatures.out_channels``.
        out_specs (list[tuple[int, int]]): requested ``(stride, channels)``,
            strides powers of two, e.g. Bae's decoder:
            ``[(2, 24), (4, 40), (8, 64), (16, 176), (32, 2048)]``.
        in_strides (list[int]): strides of the inputs w.r.t. the image.
            Defaults to ``(8, 16, 32, 64)``.
        target_strides (list[int], optional): stride each input is fused at.
            Defaults to ``in_strides``. Diff-2-in-1 fuses one step finer
            than it taps: ``(8, 8, 16, 32)``.
        hidden_channels (int): width of fused levels / extension steps whose
            stride is not requested. Defaults to 64.
        norm (str): ``'BN'`` (reference) or ``'GN'`` (small batches).
        spectral_norm (bool): spectral-normalised convs in the residual
            blocks, as the reference. Defaults to True.

    ``forward(feats)``: list of (B, in_channels[i], H / in_strides[i],
    W / in_strides[i]); returns a list in ``out_specs`` order of
    (B, channels, H / stride, W / stride) maps. Where two fused levels share
    a stride, the finer-sourced one is returned.
    """

    @staticmethod
    def _checked_args(in_channels, in_strides, target_strides, out_specs):
        """Validated (in_strides, target_strides, [(stride, channels)])."""
        in_strides = [int(s) for s in in_strides]
        if len(in_channels) != len(in_strides):
            raise ValueError(f'MultiScaleFusionNeck: {len(in_channels)} '
                             f'in_channels for {len(in_strides)} in_strides')
        target_strides = list(in_strides if target_strides is None else
                              target_strides)
        if len(target_strides) != len(in_strides):
            raise ValueError('MultiScaleFusionNeck: target_strides must have '
                             f'{len(in_strides)} entries')
        if any(b < a for a, b in zip(target_strides, target_strides[1:])):
            raise ValueError('MultiScaleFusionNeck: target_strides must not '
                             f'decrease, got {target_strides}')
        specs = [(int(s), int(c)) for s, c in out_specs]
        if not specs:
            raise ValueError('MultiScaleFusionNeck: out_specs is empty')
        for s, c in specs:
            if s < 1 or s & (s - 1) or c < 1:
                raise ValueError('MultiScaleFusionNeck: out_specs entry '
                                 f'({s}, {c}) needs a power-of-two stride '
                                 'and channels >= 1')
        return in_strides, target_strides, specs

    def __init__(self, in_channels, out_specs, in_strides=(8, 16, 32, 64),
                 target_strides=None, hidden_channels=64, norm='BN',
                 spectral_norm=True):
        super().__init__()
        in_strides, target_strides, specs = self._checked_args(
            in_channels, in_strides, target_strides, out_specs)
        self.in_strides = in_strides
        self.target_strides = target_strides
        self.out_specs = specs
        want = dict(specs)

        def width(stride):
            return want.get(stride, hidden_channels)

        # top-down fusion
        n = len(in_strides)
        self.level_channels = [width(t) for t in target_strides]
        self.projs = nn.ModuleList(
            nn.Conv2d(c, w, 1, bias=False)
            for c, w in zip(in_channels, self.level_channels))
        self.fuse = nn.ModuleList()
        for i in range(n - 1):
            self.fuse.append(
                FusionResBlock(self.level_channels[i + 1] +
                               self.level_channels[i], self.level_channels[i],
                               norm, spectral_norm))
        # extension to finer strides: ConvT x2 steps
        fine, coarse = min(target_strides), max(target_strides)
        finest_wanted = min(stride for stride, _ in specs)
        coarsest_wanted = max(stride for stride, _ in specs)
        self.down_strides = []
        s = fine // 2
        while s >= max(finest_wanted, 1):
            self.down_strides.append(s)
            s //= 2
        base = self.level_channels[0]
        self.base_norm = _norm(norm, base) if self.down_strides else None
        self.up_steps = nn.ModuleList()
        prev = None
        for j, s in enumerate(self.down_strides):
            in_ch = base if j == 0 else prev + base
            self.up_steps.append(nn.Sequential(
                nn.ConvTranspose2d(in_ch, width(s), 2, stride=2),
                _norm(norm, width(s))))
            prev = width(s)
        # extension to coarser strides: strided conv steps
        self.up_strides = []
        s = coarse * 2
        while s <= coarsest_wanted:
            self.up_strides.append(s)
            s *= 2
        self.down_steps = nn.ModuleList()
        prev = self.level_channels[-1]
        for s in self.up_strides:
            self.down_steps.append(nn.Sequential(
                nn.Conv2d(prev, width(s), 3, stride=2, padding=1),
                _norm(norm, width(s))))
            prev = width(s)
        available = set(target_strides) | set(self.down_strides) | set(
            self.up_strides)
        missing = [s for s, _ in specs if s not in available]
        if missing:
            raise ValueError(f'MultiScaleFusionNeck: strides {missing} are '
                             'not reachable by factor-2 steps from '
                             f'{target_strides}')

    def forward(self, feats):
        if len(feats) != len(self.in_strides):
            raise ValueError(f'MultiScaleFusionNeck: expected '
                             f'{len(self.in_strides)} maps, got {len(feats)}')
        for i, (f, p) in enumerate(zip(feats, self.projs)):
            if f.dim() != 4 or f.shape[1] != p.in_channels:
                raise ValueError(
                    f'MultiScaleFusionNeck: feats[{i}] must be (B, '
                    f'{p.in_channels}, h, w), got {tuple(f.shape)}')
        ref_h, ref_w = feats[0].shape[-2:]
        ref_s = self.in_strides[0]

        def size(stride):
            for s, f in zip(self.in_strides, feats):
                if s == stride:
                    return tuple(f.shape[-2:])
            if stride < ref_s:
                k = ref_s // stride
                return (ref_h * k, ref_w * k)
            k = stride // ref_s
            return (math.ceil(ref_h / k), math.ceil(ref_w / k))

        def resize(x, hw):
            if tuple(x.shape[-2:]) == tuple(hw):
                return x
            return F.interpolate(x, size=hw, mode='bilinear',
                                 align_corners=False)

        out = {}
        n = len(feats)
        top = n - 1
        t = self.target_strides[top]
        y = self.projs[top](resize(feats[top], size(t)))
        out[t] = y
        coarsest = y
        for i in range(n - 2, -1, -1):
            t = self.target_strides[i]
            hw = size(t)
            y = self.fuse[i](torch.cat(
                [resize(y, hw), self.projs[i](resize(feats[i], hw))], dim=1))
            out[t] = y
        if self.down_strides:
            g0 = F.relu(self.base_norm(y))
            x = g0
            for j, (s, step) in enumerate(zip(self.down_strides,
                                              self.up_steps)):
                if j > 0:
                    x = torch.cat([F.relu(p), resize(g0, p.shape[-2:])],
                                  dim=1)
                p = step(x)
                out[s] = p
        x = coarsest
        for s, step in zip(self.up_strides, self.down_steps):
            x = step(F.relu(x) if s != self.up_strides[0] else x)
            out[s] = x
        return [out[s] for s, _ in self.out_specs]
