"""Multi-resolution ("pyramid") noise for diffusion fine-tuning.

Marigold (Ke et al., CVPR 2024) and MERGE-B train with noise that adds
up-sampled coarse Gaussian fields to the per-pixel field, so that the
low-frequency content of the depth latent is destroyed as fast as the high
frequencies; otherwise a model fine-tuned from an image prior sees the
global layout almost intact at large t.
"""
from typing import Optional, Union

import torch
import torch.nn.functional as F

STRATEGIES = ('original', 'every_layer', 'power_of_two', 'random_step')


def multi_res_noise_like(x: torch.Tensor,
                         strength: Union[float, torch.Tensor] = 0.9,
                         timesteps: Optional[torch.Tensor] = None,
                         num_train_timesteps: int = 1000,
                         downscale_strategy: str = 'original',
                         max_levels: int = 10,
                         generator: Optional[torch.Generator] = None
                         ) -> torch.Tensor:
    """Pyramid noise shaped like ``x``, normalised to unit std.

    Args:
        x: (B, C, h, w) latent whose shape, dtype and device the noise takes.
        strength: weight ratio between consecutive levels (level ``i`` is
            scaled by ``strength ** i``); 0 gives plain Gaussian noise.
        timesteps: (B,) training timesteps; if given, the strength is
            annealed per sample by ``t / num_train_timesteps`` (Marigold's
            ``annealed=True``), so small t see nearly white noise.
        downscale_strategy: how level sizes shrink:
            ``'original'`` - each level divides the previous size by a random
            factor r**i with r ~ U[2, 4) (Marigold's default, used by MERGE);
            ``'every_layer'`` - halve every level; ``'power_of_two'`` - divide
            by 2**i; ``'random_step'`` - divide by a random factor in [2, 4)
            per level.
        max_levels: at most this many coarse levels; stops early at 1 pixel.
        generator: torch generator for reproducible noise.

    Returns:
        (B, C, h, w) noise with (global) unit standard deviation.
    """
    if x.dim() != 4:
        raise ValueError(f'multi_res_noise_like: expected a (B, C, h, w) '
                         f'latent, got shape {tuple(x.shape)}')
    if downscale_strategy not in STRATEGIES:
        raise ValueError(f'multi_res_noise_like: downscale_strategy='
                         f'{downscale_strategy!r}, expected one of '
                         f'{STRATEGIES}')
    b, c, h, w = x.shape
    device, dtype = x.device, x.dtype

    def randn(*shape):
        return torch.randn(shape, generator=generator,
                           device=generator.device if generator is not None
                           else device).to(device=device, dtype=torch.float32)

    def rand():
        return float(torch.rand(1, generator=generator,
                                device=generator.device
                                if generator is not None else 'cpu'))

    strength = torch.as_tensor(strength, dtype=torch.float32, device=device)
    strength = strength.reshape(-1, 1, 1, 1) if strength.dim() else strength
    if timesteps is not None:
        ratio = timesteps.to(device=device, dtype=torch.float32)
        strength = strength * (ratio / num_train_timesteps).reshape(
            -1, 1, 1, 1)

    noise = randn(b, c, h, w)
    lh, lw = h, w
    for i in range(max_levels):
        if downscale_strategy == 'original':
            r = rand() * 2 + 2
            # compounds: the level size is the previous one divided by r**i
            lh, lw = max(1, int(lh / r**i)), max(1, int(lw / r**i))
        elif downscale_strategy == 'every_layer':
            lh, lw = max(1, lh // 2), max(1, lw // 2)
        elif downscale_strategy == 'power_of_two':
            lh, lw = max(1, h // 2**(i + 1)), max(1, w // 2**(i + 1))
        else:
            r = rand() * 2 + 2
            lh, lw = max(1, int(lh / r)), max(1, int(lw / r))
        coarse = F.interpolate(randn(b, c, lh, lw), size=(h, w),
                               mode='bilinear', align_corners=False)
        noise = noise + coarse * strength**i
        if lh == 1 or lw == 1:
            break
    noise = noise / noise.std()
    return noise.to(dtype)
