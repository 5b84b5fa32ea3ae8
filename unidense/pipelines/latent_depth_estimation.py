"""Latent depth estimation: Marigold-style sampling shared by estimators.

An estimator that predicts a dense map as a VAE latent, conditioned on the
RGB latent (Marigold, MERGE, JointNet inpainting, ...), supplies one function

    denoise_fn(noisy_latent, rgb_latent, t) -> model_output

and :func:`sample_depth_latents` runs the reverse process with any diffusers
scheduler (DDPM, DDIM, DPM-Solver++, flow-matching Euler). The prediction type
(epsilon / v / flow velocity) is the scheduler's business
(``scheduler.config.prediction_type``), so the same loop serves all of them.

Typical use inside an estimator's ``predict``::

    x, size = resize_to_processing_res(rgb, processing_res=768, multiple=8)
    rgb_latent = codec.encode_rgb(x)                       # (B, 4, h, w)
    z = sample_depth_latents(fn, rgb_latent, scheduler, num_inference_steps=20,
                             ensemble_size=10, seed=1234)  # (B*10, 4, h, w)
    d = depth_to_unit_range(codec.decode_depth(z))         # (B*10, 1, H', W')
    d = d.view(B, 10, 1, *d.shape[-2:])
    d = torch.stack([DepthEnsemble()(m)[0][0] for m in d])  # (B, 1, H', W')
    d = restore_to_input_size(d, size)                     # (B, 1, H, W)

Everything here is a plain function of tensors; no dataset objects.
"""
import inspect
import math
from typing import Callable, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from unidense.diffusion.schedulers import as_scheduler

DenoiseFn = Callable[[Tensor, Tensor, Tensor], Tensor]


def flow_match_timestep_kwargs(scheduler, num_inference_steps: int,
                               image_seq_len: int) -> dict:
    """``set_timesteps`` kwargs for FLUX-style flow matching.

    As diffusers' FluxPipeline: sigmas linspace(1, 1/N, N) and, when the
    scheduler uses dynamic shifting, ``mu`` linear in the token count between
    (base_image_seq_len, base_shift) and (max_image_seq_len, max_shift).

    Args:
        scheduler: a FlowMatchEulerDiscreteScheduler (or its config dict).
        num_inference_steps (int): N.
        image_seq_len (int): packed image tokens, (h / 2) * (w / 2) for a
            FLUX latent of size h x w.

    Returns:
        dict(sigmas=list of N floats[, mu=float]) for
        ``sample_depth_latents(..., timestep_kwargs=...)``.
    """
    import numpy as np
    from diffusers.pipelines.flux.pipeline_flux import calculate_shift
    cfg = scheduler.config if hasattr(scheduler, 'config') else scheduler
    get = cfg.get if hasattr(cfg, 'get') else (
        lambda k, d=None: getattr(cfg, k, d))
    n = int(num_inference_steps)
    # diffusers' own schedule and shift (one copy of FluxPipeline's rule)
    kwargs = dict(sigmas=np.linspace(1.0, 1 / n, n).tolist())
    if get('use_dynamic_shifting', False):
        kwargs['mu'] = calculate_shift(image_seq_len,
                                       get('base_image_seq_len', 256),
                                       get('max_image_seq_len', 4096),
                                       get('base_shift', 0.5),
                                       get('max_shift', 1.15))
    return kwargs


@torch.no_grad()
def sample_depth_latents(denoise_fn: DenoiseFn,
                         rgb_latent: Tensor,
                         scheduler,
                         num_inference_steps: int = 20,
                         ensemble_size: int = 1,
                         generator: Optional[torch.Generator] = None,
                         seed: Optional[int] = None,
                         latent_channels: Optional[int] = None,
                         init_latents: Optional[Tensor] = None,
                         timestep_kwargs: Optional[dict] = None,
                         batch_size: int = 0) -> Tensor:
    """Sample dense-map latents conditioned on RGB latents.

    Args:
        denoise_fn: ``fn(noisy (n, C, h, w), rgb (n, C_rgb, h, w), t (n,))
            -> (n, C, h, w)`` model output in the scheduler's prediction type
            (epsilon, v_prediction or flow velocity). ``t`` is the scheduler
            timestep as a float tensor: integer steps in [0, 1000) for
            DDPM/DDIM/DPM-Solver, ``sigma * 1000`` for flow matching (FLUX
            wants ``t / 1000``). The function owns concatenation order,
            packing, text conditioning and dropping extra output channels
            (e.g. PixArt's learned variance).
        rgb_latent: (B, C_rgb, h, w) encoded image (scaled VAE latent).
        scheduler: diffusers scheduler object (not modified: a copy is
            stepped) or a ``DIFFUSION_SCHEDULERS`` config dict.
        num_inference_steps (int): denoising steps. Default: 20.
        ensemble_size (int): independent samples per image (>= 1).
        generator: torch.Generator for the initial noise (and stochastic
            schedulers); ``seed`` makes one when ``generator`` is None. With
            neither, the global RNG is used.
        latent_channels (int): C of the sampled latent; default C_rgb.
        init_latents: (B * ensemble_size, C, h, w) starting noise instead of
            drawing it (already scaled by ``init_noise_sigma``).
        timestep_kwargs (dict): extra ``scheduler.set_timesteps`` arguments,
            e.g. :func:`flow_match_timestep_kwargs` for FLUX.
        batch_size (int): samples per ``denoise_fn`` call; 0 = all at once.
            Chunks run the full schedule one after the other.

    Returns:
        (B * ensemble_size, C, h, w) latents, image-major: view as
        (B, ensemble_size, C, h, w) to group the members of each image.
    """
    if rgb_latent.ndim != 4:
        raise ValueError('sample_depth_latents: rgb_latent must be (B, C, h, '
                         f'w), got {tuple(rgb_latent.shape)}')
    if ensemble_size < 1 or num_inference_steps < 1:
        raise ValueError('sample_depth_latents: ensemble_size and '
                         'num_inference_steps must be >= 1, got '
                         f'{ensemble_size} and {num_inference_steps}')
    b, c_rgb, h, w = rgb_latent.shape
    c = c_rgb if latent_channels is None else int(latent_channels)
    device, dtype = rgb_latent.device, rgb_latent.dtype
    total = b * ensemble_size
    if generator is None and seed is not None:
        generator = torch.Generator(device=device).manual_seed(int(seed))

    sched = as_scheduler(scheduler, private_copy=True,
                         what='sample_depth_latents: `scheduler`')
    init_latents = _initial_latents(init_latents, (total, c, h, w), sched,
                                    generator, device, dtype)
    rgb = rgb_latent.repeat_interleave(ensemble_size, dim=0)
    step_kwargs = dict(return_dict=False)
    if 'generator' in inspect.signature(sched.step).parameters:
        step_kwargs['generator'] = generator
    chunk = total if batch_size <= 0 else int(batch_size)
    outputs = []
    for start in range(0, total, chunk):
        sched.set_timesteps(num_inference_steps, device=device,
                            **(timestep_kwargs or {}))
        outputs.append(_reverse_process(
            denoise_fn, sched, init_latents[start:start + chunk],
            rgb[start:start + chunk], step_kwargs))
    return torch.cat(outputs, dim=0)


def _initial_latents(init_latents: Optional[Tensor], shape, sched,
                     generator, device, dtype) -> Tensor:
    """The given (n, C, h, w) start (checked), or noise x init_noise_sigma."""
    if init_latents is None:
        # a CPU generator may drive a GPU sampler (reproducible across
        # devices): draw where the generator lives, then move
        noise_device = generator.device if generator is not None else device
        init_latents = torch.randn(shape, generator=generator,
                                   device=noise_device, dtype=dtype)
        init_sigma = float(getattr(sched, 'init_noise_sigma', 1.0))
        return init_latents.to(device) * init_sigma
    if tuple(init_latents.shape) != tuple(shape):
        raise ValueError(
            'sample_depth_latents: init_latents must be '
            f'{tuple(shape)} (B * ensemble_size, C, h, w), got '
            f'{tuple(init_latents.shape)}')
    return init_latents


def _reverse_process(denoise_fn: DenoiseFn, sched, latents: Tensor,
                     cond: Tensor, step_kwargs: dict) -> Tensor:
    """Every step of ``sched`` (timesteps set) on (n, C, h, w) latents."""
    for t in sched.timesteps:
        model_in = latents
        if hasattr(sched, 'scale_model_input'):
            model_in = sched.scale_model_input(latents, t)
        t_batch = t.to(device=cond.device, dtype=cond.dtype).expand(
            latents.shape[0])
        out = denoise_fn(model_in, cond, t_batch)
        if tuple(out.shape) != tuple(latents.shape):
            raise ValueError(
                'sample_depth_latents: denoise_fn returned shape '
                f'{tuple(out.shape)}, expected {tuple(latents.shape)} '
                '(slice extra channels such as a learned variance '
                'inside denoise_fn)')
        latents = sched.step(out, t, latents, **step_kwargs)[0]
    return latents


def _aspect_ratio_bins(bins):
    if isinstance(bins, dict):
        return bins
    from diffusers.pipelines.pixart_alpha import pipeline_pixart_alpha as pa
    table = getattr(pa, f'ASPECT_RATIO_{bins}_BIN', None)
    if table is None:
        raise ValueError(f'processing_size: aspect_ratio_bins={bins!r}; use '
                         "'256', '512', '1024' (PixArt-alpha) or a dict "
                         '{ratio: (height, width)}')
    return table


def processing_size(height: int, width: int, processing_res: int = 0,
                    multiple: int = 8,
                    aspect_ratio_bins=None) -> Tuple[int, int]:
    """Size at which a model processes an image of ``height`` x ``width``.

    The longer edge becomes ``processing_res`` (0 = keep the native size),
    the aspect ratio is kept, then each side is rounded to the nearest
    multiple of ``multiple`` (8 for an SD VAE, 16 for PixArt's patch-2 DiT
    or FLUX's 2x2 packing), at least ``multiple``.

    ``aspect_ratio_bins`` ('512' etc. or a dict ``{ratio: (h, w)}``)
    instead picks the bin of the nearest aspect ratio, as PixArt-alpha's
    pipeline (and MERGE-B inference) does: 480 x 640 -> 416 x 576 with
    '512'. ``processing_res`` and ``multiple`` are then ignored.
    """
    if aspect_ratio_bins is not None:
        table = _aspect_ratio_bins(aspect_ratio_bins)
        ratio = float(height) / float(width)
        key = min(table, key=lambda r: abs(float(r) - ratio))
        return int(table[key][0]), int(table[key][1])
    if processing_res < 0 or multiple < 1:
        raise ValueError('processing_size: processing_res must be >= 0 and '
                         f'multiple >= 1, got {processing_res}, {multiple}')
    if processing_res > 0:
        scale = processing_res / max(height, width)
        height, width = height * scale, width * scale

    def snap(x):
        return max(multiple, int(math.floor(x / multiple + 0.5)) * multiple)

    return snap(height), snap(width)


def resize_to_processing_res(image: Tensor, processing_res: int = 0,
                             multiple: int = 8,
                             mode: str = 'bilinear',
                             aspect_ratio_bins=None) -> Tuple[Tensor,
                                                              Tuple[int,
                                                                    int]]:
    """Resize (B, C, H, W) images to their processing size.

    Returns the resized (B, C, H', W') tensor (same dtype and value range)
    and the original (H, W) for :func:`restore_to_input_size`. Downscaling
    is antialiased, as Marigold's resize. Size rules: :func:`processing_size`.
    """
    if image.ndim != 4:
        raise ValueError('resize_to_processing_res: expected (B, C, H, W), '
                         f'got {tuple(image.shape)}')
    size = tuple(image.shape[-2:])
    new = processing_size(*size, processing_res=processing_res,
                          multiple=multiple,
                          aspect_ratio_bins=aspect_ratio_bins)
    if new == size:
        return image, size
    out = F.interpolate(image.float(), size=new, mode=mode,
                        align_corners=False if mode != 'nearest' else None,
                        antialias=mode in ('bilinear', 'bicubic'))
    return out.to(image.dtype), size


def restore_to_input_size(pred: Tensor, size: Sequence[int],
                          mode: str = 'bilinear') -> Tensor:
    """Resize a (B, C, h, w) prediction back to ``size`` = (H, W).

    Bilinear (antialiased when shrinking) by default; values are not
    clipped, so a [0, 1] map stays in [0, 1] up to interpolation.
    """
    if pred.ndim != 4:
        raise ValueError('restore_to_input_size: expected (B, C, h, w), got '
                         f'{tuple(pred.shape)}')
    size = (int(size[0]), int(size[1]))
    if tuple(pred.shape[-2:]) == size:
        return pred
    shrink = size[0] < pred.shape[-2] or size[1] < pred.shape[-1]
    out = F.interpolate(pred.float(), size=size, mode=mode,
                        align_corners=False if mode != 'nearest' else None,
                        antialias=shrink and mode in ('bilinear', 'bicubic'))
    return out.to(pred.dtype)


def depth_to_unit_range(decoded: Tensor) -> Tensor:
    """Decoded depth (B, 1 or 3, H, W) in [-1, 1] -> (B, 1, H, W) in [0, 1].

    Three channels (a raw VAE decode) are averaged first, as in Marigold;
    values are clipped to [-1, 1] then mapped by (x + 1) / 2 (0 = near).
    """
    if decoded.ndim != 4 or decoded.shape[1] not in (1, 3):
        raise ValueError('depth_to_unit_range: expected (B, 1 or 3, H, W), '
                         f'got {tuple(decoded.shape)}')
    if decoded.shape[1] == 3:
        decoded = decoded.mean(dim=1, keepdim=True)
    return (decoded.clamp(-1.0, 1.0) + 1.0) / 2.0
