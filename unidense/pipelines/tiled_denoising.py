"""Tiled denoising (MultiDiffusion with JointNet's tricks, paper §4.2).

:class:`TiledDenoiser` wraps a ``denoise_fn`` of
:func:`~unidense.pipelines.sample_joint_latents` so that a canvas larger
than the model's training size (a 512 x 2048 panorama = 64 x 256 latents)
is denoised tile by tile, tiles in batches of ``batch_size``:

* tiles of ``tile_size`` latents (64), ``stride`` apart (32); with ``wrap``
  the canvas is a horizontal cylinder (a 360-degree panorama) and tiles run
  over the right edge into column 0; without it the last row / column of
  tiles is aligned to the canvas edge, so every cell is covered;
* ``random_offset``: one horizontal offset in [0, stride) per step added to
  every view (needs ``wrap``; the official code would slice past the edge
  without circular padding);
* ``full_view``: for steps ``i <= int(full_view * num_steps)`` the whole
  canvas is one more view with weight ``full_view_weight`` (0.4 and 5 in
  the paper), fixing the global layout before the tiles take over;
* weights fall linearly to the tile borders over ``ramp`` latents along the
  ``ramp_axes`` ('x' for panoramas, 'xy' for refinement; the minimum of the
  two ramps), ``w(x) = clamp(T/2 - |x + 0.5 - T/2|, 0, ramp) / ramp``.

The per-cell result is the weighted mean of the views' *model outputs*; the
official code steps the scheduler per view and averages the stepped
latents. For DDIM (and every scheduler whose step is affine in the model
output at a fixed timestep) the two are the same, and one scheduler state
serves the canvas (no per-view scheduler state to save and restore).

:func:`decode_wrapped` decodes a wrapped canvas with circular padding, so
its left and right edges meet without a seam.
"""
from typing import Callable, List, Optional, Tuple

import torch
from torch import Tensor


def ramp_weights(height: int, width: int, ramp: int,
                 axes: str = 'x') -> Tensor:
    """(height, width) tile weights falling linearly to the borders."""

    def one(n):
        x = torch.arange(n, dtype=torch.float32)
        if ramp <= 0:
            return torch.ones(n)
        return (n / 2 - (x + 0.5 - n / 2).abs()).clamp(0, ramp) / ramp

    w = torch.ones(height, width)
    if 'x' in axes:
        w = torch.minimum(w, one(width)[None, :])
    if 'y' in axes:
        w = torch.minimum(w, one(height)[:, None])
    return w


def tile_starts(size: int, tile: int, stride: int, wrap: bool) -> List[int]:
    """Start positions of tiles along one axis.

    ``wrap``: ``ceil(size / stride)`` tiles every ``stride`` (each may run
    over the end into the start); otherwise every ``stride`` plus one
    aligned to the end if the last one stops short.
    """
    if tile >= size:
        return [0]
    if wrap:
        return list(range(0, size, stride))
    starts = list(range(0, size - tile + 1, stride))
    if starts[-1] + tile < size:
        starts.append(size - tile)
    return starts


class TiledDenoiser:
    """A ``denoise_fn`` that runs another one on tiles of the canvas.

    Args:
        denoise_fn: ``fn(latents (n, C, th, tw), t, spatial, step)``; the
            tiles of one call are stacked tile-major (n = k * B).
        tile_size (int | tuple): tile (th, tw) in latents, clipped to the
            canvas. Default 64 (512 px for SD).
        stride (int): 32.
        wrap (bool): horizontal circular canvas (panoramas).
        random_offset (bool): a random horizontal shift per step; needs
            ``wrap``.
        full_view (float): fraction of the steps with the whole-canvas
            view (0 = never).
        full_view_weight (float): its weight (5).
        ramp (int): border ramp length in latents (8; 0 = flat weights).
        ramp_axes (str): 'x', 'y' or 'xy'.
        batch_size (int): tiles per ``denoise_fn`` call.
        generator: draws the random offsets (CPU generator).
    """

    def __init__(self,
                 denoise_fn: Callable,
                 tile_size=64,
                 stride: int = 32,
                 wrap: bool = False,
                 random_offset: bool = False,
                 full_view: float = 0.0,
                 full_view_weight: float = 5.0,
                 ramp: int = 8,
                 ramp_axes: str = 'x',
                 batch_size: int = 8,
                 generator: Optional[torch.Generator] = None):
        if random_offset and not wrap:
            raise ValueError('TiledDenoiser: random_offset needs wrap=True '
                             '(an offset canvas without circular padding '
                             'would leave the right edge uncovered)')
        if stride < 1 or batch_size < 1:
            raise ValueError('TiledDenoiser: stride and batch_size must be '
                             '>= 1')
        self.denoise_fn = denoise_fn
        self.tile_size = ((int(tile_size), ) * 2 if isinstance(tile_size, int)
                          else tuple(int(s) for s in tile_size))
        self.stride = int(stride)
        self.wrap = bool(wrap)
        self.random_offset = bool(random_offset)
        self.full_view = float(full_view)
        self.full_view_weight = float(full_view_weight)
        self.ramp = int(ramp)
        self.ramp_axes = ramp_axes
        self.batch_size = int(batch_size)
        self.generator = generator

    def views(self, height: int,
              width: int) -> Tuple[Tuple[int, int], List[Tuple[int, int]]]:
        """Tile size (th, tw) and the (y0, x0) of every tile."""
        th, tw = min(self.tile_size[0], height), min(self.tile_size[1], width)
        ys = tile_starts(height, th, self.stride, False)
        xs = tile_starts(width, tw, self.stride, self.wrap)
        return (th, tw), [(y, x) for y in ys for x in xs]

    def _offset(self) -> int:
        if not self.random_offset:
            return 0
        return int(torch.randint(0, self.stride, (1, ),
                                 generator=self.generator))

    def __call__(self, latents: Tensor, t, spatial: Optional[Tensor],
                 step: Tuple[int, int]) -> Tensor:
        b, c, h, w = latents.shape
        (th, tw), views = self.views(h, w)
        offset = self._offset()
        weight = ramp_weights(th, tw, self.ramp, self.ramp_axes).to(latents)
        value = torch.zeros_like(latents)
        count = torch.zeros(1, 1, h, w, dtype=latents.dtype,
                            device=latents.device)
        arange = torch.arange(tw, device=latents.device)
        cols = [(x + offset + arange) % w for _, x in views]

        def crop(x, y0, col):
            return None if x is None else x[:, :, y0:y0 + th][..., col]

        for start in range(0, len(views), self.batch_size):
            chunk = range(start, min(start + self.batch_size, len(views)))
            tiles = torch.cat([crop(latents, views[k][0], cols[k])
                               for k in chunk])
            sp = None if spatial is None else torch.cat(
                [crop(spatial, views[k][0], cols[k]) for k in chunk])
            out = self.denoise_fn(tiles, t, sp, step)
            for j, k in enumerate(chunk):
                y0 = views[k][0]
                value[:, :, y0:y0 + th].index_add_(
                    3, cols[k], out[j * b:(j + 1) * b] * weight)
                count[:, :, y0:y0 + th].index_add_(3, cols[k],
                                                   weight[None, None])
        i, n = step
        if self.full_view > 0 and i <= int(self.full_view * n):
            rolled = torch.roll(latents, -offset, dims=3)
            sp = None if spatial is None else torch.roll(spatial, -offset,
                                                         dims=3)
            out = torch.roll(self.denoise_fn(rolled, t, sp, step), offset,
                             dims=3)
            value += self.full_view_weight * out
            count += self.full_view_weight
        return value / count.clamp(min=1e-8)


def decode_wrapped(decode_fn: Callable[[Tensor], Tensor], latents: Tensor,
                   pad: int = 8) -> Tensor:
    """Decode a horizontally wrapping (B, C, h, w) latent without a seam.

    The last ``pad`` latent columns are prepended and the first ``pad``
    appended (circular padding), the decode's extra pixels cropped away.
    ``decode_fn`` maps (B, C, h, w) -> (B, C', h * f, w * f).
    """
    pad = min(int(pad), latents.shape[-1])
    if pad <= 0:
        return decode_fn(latents)
    padded = torch.cat([latents[..., -pad:], latents, latents[..., :pad]],
                       dim=-1)
    out = decode_fn(padded)
    f = out.shape[-1] // padded.shape[-1]
    return out[..., pad * f:out.shape[-1] - pad * f]

