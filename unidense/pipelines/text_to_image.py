"""Text-to-image generation with diffusers' own pipelines, built on parts.

A unified model keeps its text-to-image ability by leaving the pretrained
denoiser untouched; generating is then exactly the published pipeline. This
module builds that pipeline (``PixArtAlphaPipeline``, ``FluxPipeline``,
``StableDiffusionPipeline``) around the frozen parts an estimator already
holds, and conditions it with unidense's
:class:`~unidense.diffusion.TextEncoder` (no tokenizers or text models inside
the pipeline)::

    images = generate_images(model.backbone.transformer, model.codec.vae,
                             model.text_encoder, model.t2i_scheduler,
                             ['a red box'], num_inference_steps=20,
                             generator=torch.Generator().manual_seed(0))
    # (1, 3, H, W) in [0, 1]

The functions take parts, not an estimator, so JointNet, MERGE and the
perception models share them. Noise draws, scheduler calls, guidance, FLUX's
shifted sigmas and 2x2 latent packing are diffusers' code, so the same seed
and prompt embeddings give the pipeline's images bit for bit.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn

from unidense.diffusion.schedulers import as_scheduler

Prompts = Union[str, Sequence[str], None]


def _as_list(prompts: Prompts) -> Optional[List[str]]:
    if prompts is None:
        return None
    return [prompts] if isinstance(prompts, str) else list(prompts)


def _encode(text_encoder, prompts: List[str], what: str) -> Dict:
    if text_encoder is None:
        raise ValueError(f'generate_images: {what} needs a text_encoder '
                         '(unidense TextEncoder), or pass the embeddings')
    return text_encoder.encode(prompts)


def _num_prompts(kwargs: dict) -> int:
    return int(kwargs['prompt_embeds'].shape[0])


# -- conditioning per pipeline: prompts -> the pipeline's embedding kwargs ---
def _pixart_conditioning(text_encoder, prompts, negative_prompt, cfg, kwargs):
    """prompt_embeds (B, L, D) + prompt_attention_mask (B, L) [+ negative]."""
    if prompts is not None:
        enc = _encode(text_encoder, prompts, 'prompts')
        kwargs.update(prompt_embeds=enc['embeds'],
                      prompt_attention_mask=enc['mask'])
    if kwargs.get('prompt_attention_mask') is None:
        # the pipeline insists on a mask next to prompt_embeds; none = all
        kwargs['prompt_attention_mask'] = torch.ones(
            kwargs['prompt_embeds'].shape[:2], dtype=torch.long,
            device=kwargs['prompt_embeds'].device)
    if cfg and kwargs.get('negative_prompt_embeds') is None:
        neg = _encode(text_encoder,
                      [negative_prompt] * _num_prompts(kwargs),
                      'guidance_scale > 1 (the negative prompt)')
        kwargs.update(negative_prompt_embeds=neg['embeds'],
                      negative_prompt_attention_mask=neg['mask'])
    if cfg and kwargs.get('negative_prompt_attention_mask') is None:
        kwargs['negative_prompt_attention_mask'] = torch.ones_like(
            kwargs['prompt_attention_mask'])
    return kwargs


def _sd_conditioning(text_encoder, prompts, negative_prompt, cfg, kwargs):
    """prompt_embeds (B, 77, D) [+ negative_prompt_embeds]."""
    if prompts is not None:
        kwargs['prompt_embeds'] = _encode(text_encoder, prompts,
                                          'prompts')['embeds']
    if cfg and kwargs.get('negative_prompt_embeds') is None:
        kwargs['negative_prompt_embeds'] = _encode(
            text_encoder, [negative_prompt] * _num_prompts(kwargs),
            'guidance_scale > 1 (the negative prompt)')['embeds']
    return kwargs


def _flux_conditioning(text_encoder, prompts, negative_prompt, cfg, kwargs):
    """T5 prompt_embeds (B, L, D) + pooled CLIP (B, P).

    FLUX.1-dev is guidance-distilled: ``guidance_scale`` feeds its guidance
    embedder and no negative prompt is run, unless ``true_cfg_scale > 1`` is
    passed (then ``negative_prompt`` is encoded too).
    """
    if prompts is not None:
        enc = _encode(text_encoder, prompts, 'prompts')
        kwargs.update(prompt_embeds=enc['embeds'],
                      pooled_prompt_embeds=enc['pooled'])
    if kwargs.get('pooled_prompt_embeds') is None:
        raise ValueError('generate_images: FLUX needs pooled_prompt_embeds '
                         '(B, P) next to prompt_embeds')
    if kwargs.get('true_cfg_scale', 1.0) > 1 and \
            kwargs.get('negative_prompt_embeds') is None:
        neg = _encode(text_encoder,
                      [negative_prompt] * _num_prompts(kwargs),
                      'true_cfg_scale > 1 (the negative prompt)')
        kwargs.update(negative_prompt_embeds=neg['embeds'],
                      negative_pooled_prompt_embeds=neg['pooled'])
    return kwargs


# -- pipelines ---------------------------------------------------------------
def _pixart_pipeline(denoiser, vae, scheduler):
    from diffusers import PixArtAlphaPipeline
    return PixArtAlphaPipeline(tokenizer=None, text_encoder=None, vae=vae,
                               transformer=denoiser, scheduler=scheduler)


def _sd_pipeline(denoiser, vae, scheduler):
    from diffusers import StableDiffusionPipeline
    return StableDiffusionPipeline(
        vae=vae, text_encoder=None, tokenizer=None, unet=denoiser,
        scheduler=scheduler, safety_checker=None, feature_extractor=None,
        requires_safety_checker=False)


def _flux_pipeline(denoiser, vae, scheduler):
    from diffusers import FluxPipeline
    return FluxPipeline(scheduler=scheduler, vae=vae, text_encoder=None,
                        tokenizer=None, text_encoder_2=None,
                        tokenizer_2=None, transformer=denoiser)


# denoiser class name -> (pipeline factory, conditioning, fixed call kwargs).
# Resolution binning (PixArt) would resize the output away from the size
# asked for; dense-prediction code wants the size it asked for.
_RECIPES = {
    'PixArtTransformer2DModel': (_pixart_pipeline, _pixart_conditioning,
                                 dict(use_resolution_binning=False,
                                      clean_caption=False,
                                      negative_prompt=None)),
    'UNet2DConditionModel': (_sd_pipeline, _sd_conditioning,
                             dict(negative_prompt=None)),
    'FluxTransformer2DModel': (_flux_pipeline, _flux_conditioning, dict()),
}


def _recipe(denoiser: nn.Module):
    for cls in type(denoiser).__mro__:
        if cls.__name__ in _RECIPES:
            return _RECIPES[cls.__name__]
    raise TypeError(
        f'generate_images: no text-to-image pipeline for '
        f'{type(denoiser).__name__}; pass a plain diffusers '
        f'{", ".join(sorted(_RECIPES))} (e.g. backbone.transformer / '
        f'backbone.unet, not the unidense backbone)')


def build_text_to_image_pipeline(denoiser: nn.Module, vae: nn.Module,
                                 scheduler) -> object:
    """The diffusers pipeline for ``denoiser``'s class, on these parts.

    Args:
        denoiser: diffusers ``PixArtTransformer2DModel``,
            ``UNet2DConditionModel`` or ``FluxTransformer2DModel``.
        vae: diffusers ``AutoencoderKL`` (or a ``LatentCodec``: its VAE).
        scheduler: diffusers scheduler or DIFFUSION_SCHEDULERS config; the
            pipeline steps a private copy.

    Returns:
        The pipeline (progress bar off), without tokenizers or text models.
    """
    factory = _recipe(denoiser)[0]
    vae = getattr(vae, 'vae', vae)  # a LatentCodec holds the VAE
    pipe = factory(denoiser, vae,
                   as_scheduler(scheduler, private_copy=True,
                                what='generate_images: `scheduler`'))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _default_size(denoiser: nn.Module, vae: nn.Module) -> Optional[int]:
    """sample_size x VAE scale factor, or None (the pipeline's default)."""
    sample_size = getattr(denoiser.config, 'sample_size', None)
    if sample_size is None:
        return None
    vae = getattr(vae, 'vae', vae)
    scale = 2**(len(vae.config.block_out_channels) - 1)
    return int(sample_size) * scale


@torch.no_grad()
def generate_images(denoiser: nn.Module,
                    vae: nn.Module,
                    text_encoder,
                    scheduler,
                    prompts: Prompts,
                    *,
                    height: Optional[int] = None,
                    width: Optional[int] = None,
                    num_inference_steps: int = 20,
                    guidance_scale: float = 4.5,
                    negative_prompt: str = '',
                    generator: Optional[torch.Generator] = None,
                    latents: Optional[torch.Tensor] = None,
                    output_type: str = 'pt',
                    **pipeline_kwargs) -> torch.Tensor:
    """Generate images with the diffusers pipeline matching ``denoiser``.

    Args:
        denoiser: a plain diffusers ``PixArtTransformer2DModel`` (->
            ``PixArtAlphaPipeline``, resolution binning off),
            ``UNet2DConditionModel`` (-> ``StableDiffusionPipeline``) or
            ``FluxTransformer2DModel`` (-> ``FluxPipeline``).
        vae: diffusers ``AutoencoderKL`` (or a ``LatentCodec``), any number
            of blocks (scale factor 2 ** (blocks - 1)).
        text_encoder: unidense ``TextEncoder`` encoding ``prompts`` and
            ``negative_prompt``; may be None when the embeddings are passed
            in ``pipeline_kwargs`` (``prompt_embeds``,
            ``prompt_attention_mask``, ``negative_prompt_embeds``,
            ``pooled_prompt_embeds`` ...).
        scheduler: diffusers scheduler or config (a copy is stepped).
        prompts: str or list of B prompts, or None with ``prompt_embeds``.
        height, width: pixels; default denoiser ``sample_size`` x VAE scale
            factor (FLUX, which has no sample size: the pipeline's 1024).
        guidance_scale: classifier-free guidance (PixArt, SD; negative
            prompt encoded when > 1) or FLUX's distilled guidance value.
        negative_prompt: text of the unconditional branch.
        generator, latents: the pipeline's noise (same seed, same images).
        output_type: 'pt' -> (B, 3, H, W) in [0, 1]; 'latent' -> the
            pipeline's final latents (FLUX: packed tokens (B, N, 4C)).
        **pipeline_kwargs: passed to the pipeline call unchanged.

    Returns:
        (B, 3, H, W) float tensor in [0, 1] for ``output_type='pt'``.
    """
    _, condition, fixed = _recipe(denoiser)
    kwargs = dict(pipeline_kwargs)
    prompts = _as_list(prompts)
    if prompts is None and kwargs.get('prompt_embeds') is None:
        raise ValueError('generate_images: give prompts or prompt_embeds')
    kwargs = condition(text_encoder, prompts, negative_prompt,
                       guidance_scale > 1.0, kwargs)
    default = _default_size(denoiser, vae)
    pipe = build_text_to_image_pipeline(denoiser, vae, scheduler)
    call = dict(fixed, height=height or default, width=width or default,
                num_inference_steps=num_inference_steps,
                guidance_scale=guidance_scale, generator=generator,
                latents=latents, output_type=output_type, return_dict=False)
    call.update(kwargs)
    return pipe(**call)[0]

