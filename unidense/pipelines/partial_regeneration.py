"""Partial-noise re-generation (SDEdit) of real images with a frozen
text-to-image network: Diff-2-in-1's synthetic data creation (§3.2, A.2).

A training image is encoded to its VAE latent, forward-noised to
``noise_timestep`` (600 of 1000) and denoised back with deterministic DDIM
(eta 0) on ``num_inference_steps`` (50) timesteps spread over the first
``noise_timestep`` training steps, conditioned on a caption without
classifier-free guidance (guidance 1). The result keeps the layout of the
source image and varies its appearance - new, unlabelled training images
whose labels the creation copy predicts online.

Timesteps follow the released code (LDM's DDIM): ``{1, 13, ..., 589}`` for
600 / 50 (stride ``noise_timestep // steps``, offset +1), denoised from the
largest; the last step goes to ``alphas_cumprod[0]``. Note the released
code's small mismatch, kept here: the latent is noised to level 600 while
the first denoising step is evaluated at t = 589.

Works on any frozen text-to-image denoiser unidense trains on: SD-style
``UNet2DConditionModel`` (JointNet's RGB branch, the Diff-2-in-1 generator)
and ``PixArtTransformer2DModel`` (MERGE's DiT; its learned-sigma channels
are dropped), with epsilon- or v-prediction schedulers.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn


def partial_noise_timesteps(noise_timestep: int = 600,
                            num_inference_steps: int = 50) -> List[int]:
    """DDIM timesteps of the released code, largest first.

    >>> partial_noise_timesteps(600, 50)[:3], partial_noise_timesteps()[-1]
    ([589, 577, 565], 1)
    """
    noise_timestep, steps = int(noise_timestep), int(num_inference_steps)
    if not 0 < steps <= noise_timestep:
        raise ValueError(f'partial_noise_timesteps: need 0 < '
                         f'num_inference_steps ({steps}) <= noise_timestep '
                         f'({noise_timestep})')
    stride = noise_timestep // steps
    return [1 + stride * i for i in range(steps)][::-1]


def generative_parts(model: nn.Module) -> Dict:
    """The frozen text-to-image parts of an estimator, found by name.

    MERGE (``backbone.network`` = the frozen DiT, ``codec``,
    ``text_encoder``, ``t2i_scheduler``) and JointNet (``backbone.network``
    = the frozen RGB UNet, ``test_scheduler``) carry them; a plain dict
    ``dict(denoiser=, vae=, text_encoder=, scheduler=)`` passes through.

    Returns:
        dict(denoiser, vae (AutoencoderKL or LatentCodec), text_encoder,
        scheduler).
    """
    if isinstance(model, dict):
        missing = {'denoiser', 'vae', 'text_encoder', 'scheduler'} - set(model)
        if missing:
            raise KeyError(f'generative_parts: missing {sorted(missing)}')
        return model
    backbone = getattr(model, 'backbone', None)
    denoiser = getattr(backbone, 'network', None)
    codec = getattr(model, 'codec', None)
    scheduler = next((getattr(model, n) for n in (
        't2i_scheduler', 'test_scheduler', 'train_scheduler')
        if getattr(model, n, None) is not None), None)
    text_encoder = getattr(model, 'text_encoder', None)
    if denoiser is None or codec is None or scheduler is None or \
            text_encoder is None:
        raise TypeError(
            f'{type(model).__name__} has no text-to-image parts '
            f'(backbone.network, codec, text_encoder, a scheduler): give '
            f'the generator explicitly (synthetic_data.generator = '
            f'dict(unet=..., vae=..., text_encoder=..., scheduler=...))')
    return dict(denoiser=denoiser, vae=codec, text_encoder=text_encoder,
                scheduler=scheduler)


def _noise_prediction(denoiser, z, t, cond) -> torch.Tensor:
    """The denoiser's raw output (B, C, h, w) for latents z at timestep t."""
    name = next((c.__name__ for c in type(denoiser).__mro__ if c.__name__ in (
        'UNet2DConditionModel', 'PixArtTransformer2DModel')), None)
    tt = torch.full((len(z), ), int(t), device=z.device, dtype=torch.long)
    if name == 'UNet2DConditionModel':
        out = denoiser(z, tt, encoder_hidden_states=cond['embeds'],
                       return_dict=False)[0]
    elif name == 'PixArtTransformer2DModel':
        out = denoiser(z, encoder_hidden_states=cond['embeds'],
                       encoder_attention_mask=cond.get('mask'), timestep=tt,
                       added_cond_kwargs=dict(resolution=None,
                                              aspect_ratio=None),
                       return_dict=False)[0]
        if out.shape[1] == 2 * z.shape[1]:   # learned sigma
            out = out[:, :z.shape[1]]
    else:
        raise TypeError(f'regenerate_images: {type(denoiser).__name__} is '
                        f'not supported (SD UNet2DConditionModel or '
                        f'PixArtTransformer2DModel); FLUX is a flow-matching '
                        f'model without a DDPM noising schedule')
    return out


def _ddim_step(z, out, a_t, a_prev, prediction):
    """Deterministic DDIM (eta 0) from alpha_bar ``a_t`` to ``a_prev``."""
    from unidense.diffusion.schedulers import clean_latent_estimate
    x0 = clean_latent_estimate(out, z, prediction, a_t)
    eps = out if prediction == 'epsilon' else \
        (1 - a_t)**0.5 * z + a_t**0.5 * out
    return a_prev**0.5 * x0 + (1 - a_prev)**0.5 * eps


@torch.no_grad()
def regenerate_images(denoiser: nn.Module,
                      vae: nn.Module,
                      text_encoder,
                      scheduler,
                      images: torch.Tensor,
                      prompts: Sequence[str],
                      noise_timestep: int = 600,
                      num_inference_steps: int = 50,
                      generators: Optional[Sequence[torch.Generator]] = None
                      ) -> torch.Tensor:
    """SDEdit re-generation of ``images`` conditioned on ``prompts``.

    Args:
        denoiser: frozen diffusers SD UNet or PixArt transformer.
        vae: ``LatentCodec`` (its RGB encoding as the model uses it:
            posterior sample or mean, x scaling) or a diffusers
            ``AutoencoderKL`` (wrapped in a posterior-sampling
            ``LatentCodec``, Diff-2-in-1's choice).
        text_encoder: unidense ``TextEncoder`` (its ``encode``).
        scheduler: the generator's training scheduler (config or diffusers
            object): its ``alphas_cumprod`` and ``prediction_type``.
        images: (B, 3, H, W) RGB in [-1, 1], H, W multiples of the VAE
            factor.
        prompts: B captions.
        noise_timestep: SDEdit strength as a training timestep (600).
        num_inference_steps: DDIM steps below it (50).
        generators: one CPU generator per image (posterior sample and
            noise), so an image's result depends on its seed only.

    Returns:
        (B, 3, H, W) RGB in [-1, 1].
    """
    from unidense.diffusion import LatentCodec
    from unidense.diffusion.schedulers import as_scheduler
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f'regenerate_images: images must be (B, 3, H, W) '
                         f'in [-1, 1], got {tuple(images.shape)}')
    prompts = list(prompts)
    if len(prompts) != len(images):
        raise ValueError(f'regenerate_images: {len(prompts)} prompts for '
                         f'{len(images)} images')
    codec = vae if isinstance(vae, LatentCodec) else LatentCodec(
        vae=vae, sample_posterior=True)
    sched = as_scheduler(scheduler)
    prediction = sched.config.prediction_type
    if prediction not in ('epsilon', 'v_prediction'):
        raise ValueError(f'regenerate_images: prediction_type '
                         f'{prediction!r} is not supported')
    param = next(denoiser.parameters())
    device, dtype = param.device, param.dtype
    alphas = sched.alphas_cumprod.to(torch.float64)
    if noise_timestep >= len(alphas):
        raise ValueError(f'regenerate_images: noise_timestep '
                         f'{noise_timestep} >= {len(alphas)} training steps')
    gens = list(generators) if generators is not None else [None] * len(
        images)

    # encode (one posterior draw per image, from its generator)
    latents = [codec.encode_rgb(img[None].to(device), generator=gen)
               for img, gen in zip(images, gens)]
    z0 = torch.cat(latents).to(torch.float32)
    noise = torch.cat([
        torch.randn(z0.shape[1:], generator=g)[None] if g is not None else
        torch.randn(z0.shape[1:])[None] for g in gens
    ]).to(z0)
    a_start = alphas[int(noise_timestep)].item()
    z = a_start**0.5 * z0 + (1 - a_start)**0.5 * noise

    cond = text_encoder.encode(prompts)
    cond = {k: None if v is None else
            v.to(device, dtype if v.is_floating_point() else v.dtype)
            for k, v in cond.items()}
    steps = partial_noise_timesteps(noise_timestep, num_inference_steps)
    for i, t in enumerate(steps):
        a_prev = alphas[steps[i + 1]].item() if i + 1 < len(steps) else \
            alphas[0].item()
        out = _noise_prediction(denoiser, z.to(dtype), t, cond).float()
        z = _ddim_step(z, out, alphas[t].item(), a_prev, prediction)
    return codec.decode_rgb(z.to(dtype)).float().clamp(-1, 1)
