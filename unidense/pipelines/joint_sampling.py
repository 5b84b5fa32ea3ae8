"""Joint sampling of several latents (JointNet): generation and inpainting.

One reverse process covers the paper's applications (JointNet §2, §4.1):

* **joint generation** - every branch starts from noise;
* **inpainting** - per-branch masks (1 = generate, 0 = keep, independent
  per branch, so *channel-wise* inpainting is a mask choice), known regions
  replaced after every step by the known latent re-noised with the same
  noise to the next timestep (RePaint-style, as the official pipeline), and
  SDEdit ``strength`` (the run starts at ``timesteps[N - int(N * s):]`` from
  the known latents noised to that step);
* presets ``rgb2j`` (dense estimation: RGB kept, the joint maps generated)
  and ``j2rgb`` (dense-map-conditioned image generation), see
  :func:`preset_masks`.

The model is a function ``denoise_fn(latents (n, C, h, w), t (scalar
tensor), spatial (n, S, h, w) | None, step (i, num_steps)) -> (n, C, h, w)``
that owns classifier-free guidance, text and the inpainting model's mask
conditioning (``spatial``); :class:`~unidense.pipelines.TiledDenoiser`
wraps one for panoramas and tiled refinement without changing this loop.

Differences from the official pipelines (ml-jointnet, see
configs/jointnet/README.md): masks and known latents are per sample (the
official code uses batch element 0 for everyone); the initial latent is
blended with the re-noised known latent too, not only after the first step.
"""
import inspect
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from unidense.diffusion.schedulers import as_scheduler

JointDenoiseFn = Callable[[Tensor, Tensor, Optional[Tensor], Tuple[int, int]],
                          Tensor]
PRESETS = ('both', 'rgb2j', 'j2rgb')


def preset_masks(preset: str, branch_names: Sequence[str],
                 custom: Optional[Dict[str, float]] = None
                 ) -> Dict[str, float]:
    """Fill value (1 generate / 0 keep) of each branch's mask for a preset.

    ``both``: everything generated (joint generation / refinement of all
    branches); ``rgb2j``: RGB kept, the other branches generated (depth /
    normal estimation); ``j2rgb``: RGB generated from the kept joint maps.
    ``custom`` overrides single branches (e.g. the official upsampler's
    ``image`` preset = ``both`` with ``custom={'depth': 0}``).
    """
    if preset not in PRESETS:
        raise ValueError(f'preset_masks: preset={preset!r}, expected one of '
                         f'{PRESETS}')
    rgb, *others = branch_names
    fill = {'both': (1.0, 1.0), 'rgb2j': (0.0, 1.0),
            'j2rgb': (1.0, 0.0)}[preset]
    values = {rgb: fill[0], **{name: fill[1] for name in others}}
    values.update(custom or {})
    return values


def latent_mask(mask: Tensor, size: Sequence[int]) -> Tensor:
    """(B, 1, H, W) pixel mask in [0, 1] -> (B, 1, h, w) binary latent mask.

    Nearest resize (as the official pipeline), then 1 where > 0.5.
    """
    if mask.dim() != 4 or mask.shape[1] != 1:
        raise ValueError('latent_mask: expected a (B, 1, H, W) mask, got '
                         f'{tuple(mask.shape)}')
    small = F.interpolate(mask.float(), size=tuple(int(s) for s in size),
                          mode='nearest')
    return (small > 0.5).to(mask.dtype if mask.is_floating_point() else
                            torch.float32)


def inpaint_timesteps(sched, num_inference_steps: int, strength: float,
                      device=None) -> Tensor:
    """``set_timesteps(N)`` and the last ``int(N * strength)`` of them."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f'strength must be in [0, 1], got {strength}')
    sched.set_timesteps(int(num_inference_steps), device=device)
    n = len(sched.timesteps)
    keep = min(int(n * strength), n)
    return sched.timesteps[n - keep:]


@torch.no_grad()
def sample_joint_latents(denoise_fn: JointDenoiseFn,
                         scheduler,
                         shape: Sequence[int],
                         num_inference_steps: int = 50,
                         known: Optional[Tensor] = None,
                         known_mask: Optional[Tensor] = None,
                         strength: float = 1.0,
                         spatial: Optional[Tensor] = None,
                         generator: Optional[torch.Generator] = None,
                         noise: Optional[Tensor] = None,
                         device=None,
                         dtype=torch.float32) -> Tensor:
    """Reverse process over a joint latent, with optional inpainting.

    Args:
        denoise_fn: see the module doc.
        scheduler: diffusers scheduler or config (a private copy is
            stepped); DDIM with eta 0 in JointNet.
        shape: (B, C, h, w) of the joint latent (all branches along C).
        known: (B, C, h, w) clean latents of the inputs (needed with
            ``known_mask`` or ``strength < 1``).
        known_mask: (B, C, h, w) or broadcastable; 1 = generate, 0 = keep
            ``known``. None: nothing is replaced (plain generation).
        strength: SDEdit denoising strength in [0, 1]; 1 starts from pure
            noise.
        spatial: (B, S, h, w) fixed conditioning maps handed to
            ``denoise_fn`` (the inpainting model's masks and masked latents).
        generator: draws the noise (on its own device, then moved).
        noise: (B, C, h, w) noise to use instead (init and re-noising).

    Returns:
        (B, C, h, w) clean latents.
    """
    shape = tuple(int(s) for s in shape)
    if device is None:
        device = known.device if known is not None else 'cpu'
    sched = as_scheduler(scheduler, private_copy=True,
                         what='sample_joint_latents: `scheduler`')
    timesteps = inpaint_timesteps(sched, num_inference_steps, strength,
                                  device)
    if (known_mask is not None or strength < 1.0) and known is None:
        raise ValueError('sample_joint_latents: inpainting / strength < 1 '
                         'needs the `known` latents')
    if len(timesteps) == 0:
        return known
    if noise is None:
        noise_device = generator.device if generator is not None else device
        noise = torch.randn(shape, generator=generator, device=noise_device,
                            dtype=dtype)
    noise = noise.to(device=device, dtype=dtype)

    def noised(i):
        t = timesteps[i].expand(shape[0])
        return sched.add_noise(known, noise, t)

    if strength < 1.0:
        latents = noised(0)
    else:
        latents = noise * float(getattr(sched, 'init_noise_sigma', 1.0))
        if known_mask is not None:
            latents = known_mask * latents + (1 - known_mask) * noised(0)
    step_kwargs = dict(return_dict=False)
    if 'generator' in inspect.signature(sched.step).parameters:
        step_kwargs['generator'] = generator
    last = len(timesteps) - 1
    for i, t in enumerate(timesteps):
        model_in = sched.scale_model_input(latents, t)
        out = denoise_fn(model_in, t, spatial, (i, len(timesteps)))
        latents = sched.step(out, t, latents, **step_kwargs)[0]
        if known_mask is not None:
            ref = known if i == last else noised(i + 1)
            latents = known_mask * latents + (1 - known_mask) * ref
    return latents


def classifier_free_guidance(model_fn: Callable[[Tensor, Tensor, Tensor,
                                                 Optional[Tensor]], Tensor],
                             text: Tensor,
                             uncond: Optional[Tensor],
                             guidance_scale: float) -> JointDenoiseFn:
    """A ``denoise_fn`` that runs ``model_fn(latents, t, text, spatial)``
    with CFG: ``out_u + s * (out_c - out_u)`` on all channels at once (one
    scale for every branch, as JointNet).

    ``text`` (B, L, D) and ``uncond`` (B, L, D) are repeated to the call's
    batch (n = k * B for k stacked tiles, tile-major). ``guidance_scale``
    <= 1 or ``uncond`` None runs the conditional branch only.
    """
    use_cfg = uncond is not None and guidance_scale > 1.0

    def fn(latents, t, spatial, step):
        k = latents.shape[0] // text.shape[0]
        cond = text.repeat(k, 1, 1)
        t_batch = t.expand(latents.shape[0])
        if not use_cfg:
            return model_fn(latents, t_batch, cond, spatial)
        both = torch.cat([latents, latents])
        sp = None if spatial is None else torch.cat([spatial, spatial])
        out = model_fn(both, t_batch.repeat(2),
                       torch.cat([uncond.repeat(k, 1, 1), cond]), sp)
        out_u, out_c = out.chunk(2)
        return out_u + guidance_scale * (out_c - out_u)

    return fn
