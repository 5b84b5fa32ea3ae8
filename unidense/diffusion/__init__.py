"""Curated wrappers around diffusers / transformers parts.

Importing registers: the model factories (MODELS), tokenizers (TASK_UTILS),
noise schedulers (DIFFUSION_SCHEDULERS), ``TextEncoder`` and ``LatentCodec``
(MODELS). See docs/advanced_guides/interfaces.md section 3.
"""
from .byte_tokenizer import ByteTokenizer
from .freezing import (FrozenPartsMixin, freeze, is_frozen,
                       keep_frozen_in_eval, unmark_frozen)
from .latent_codec import LatentCodec
from .model_factories import (AutoencoderKL, CLIPTextModel,
                              CLIPTextModelWithProjection,
                              FluxTransformer2DModel,
                              PixArtTransformer2DModel, T5EncoderModel,
                              UNet2DConditionModel, build_pretrained_module)
from .pretrained import (PretrainedNotFoundError, hub_offline, is_meta_build,
                         meta_device_build, resolve_dtype)
from .schedulers import (DDIMScheduler, DDPMScheduler,
                         DPMSolverMultistepScheduler,
                         FlowMatchEulerDiscreteScheduler, as_scheduler,
                         build_scheduler, clean_latent_estimate)
from .text_encoder import TextEncoder
from .tokenizers import CLIPTokenizer, T5Tokenizer

__all__ = [
    'AutoencoderKL', 'ByteTokenizer', 'CLIPTextModel',
    'CLIPTextModelWithProjection', 'CLIPTokenizer', 'DDIMScheduler',
    'DDPMScheduler', 'DPMSolverMultistepScheduler',
    'FlowMatchEulerDiscreteScheduler', 'FluxTransformer2DModel',
    'LatentCodec', 'PixArtTransformer2DModel', 'PretrainedNotFoundError',
    'T5EncoderModel', 'T5Tokenizer', 'TextEncoder', 'UNet2DConditionModel',
    'build_pretrained_module', 'build_scheduler', 'clean_latent_estimate',
    'hub_offline',
    'is_meta_build', 'meta_device_build', 'resolve_dtype', 'as_scheduler',
    'freeze', 'is_frozen', 'keep_frozen_in_eval', 'unmark_frozen',
    'FrozenPartsMixin'
]
from .multi_res_noise import multi_res_noise_like  # noqa: F401,E402
