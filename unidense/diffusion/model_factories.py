"""Registered factories for a curated list of diffusers / transformers models.

Each factory returns the **plain** library module (no wrapper), so state-dict
keys, ``save_pretrained`` and every method are the library's own. The list is
deliberately short - the parts unidense's algorithms use:

=============================== ====================== ========================
type                            library                used by
=============================== ====================== ========================
``UNet2DConditionModel``        diffusers              SD-1.5 / SD-2.1
                                                       (JointNet, Diff-2-in-1)
``AutoencoderKL``               diffusers              every latent model
``PixArtTransformer2DModel``    diffusers              MERGE-B
``FluxTransformer2DModel``      diffusers              MERGE-L
``CLIPTextModel``               transformers           SD, FLUX (pooled)
``CLIPTextModelWithProjection`` transformers           VPD class embeddings
``T5EncoderModel``              transformers           PixArt, FLUX
=============================== ====================== ========================

Config keys (all factories)::

    dict(type='UNet2DConditionModel',
         from_pretrained='stable-diffusion-v1-5/stable-diffusion-v1-5',
         subfolder='unet',       # sub-folder of the repo / local folder
         config=dict(...),       # dict | path/to/config.json | folder
         torch_dtype=None,       # 'float16' | 'bfloat16' | 'float32' | None
         frozen=False,           # requires_grad_(False) + eval()
         **overrides)            # applied on top of ``config``

``from_pretrained`` wins over ``config`` except inside
:func:`~unidense.diffusion.meta_device_build`, where ``config`` is built on
the meta device.
"""
import os.path as osp

from unidense.registry import MODELS
from .freezing import freeze
from .pretrained import (call_from_pretrained, clean_config, is_meta_build,
                         load_config_dict, resolve_dtype)


def _diffusers_cls(name):
    import diffusers
    return getattr(diffusers, name)


def _transformers_cls(name):
    import transformers
    return getattr(transformers, name)


def _instantiate(lib, cls, cfg):
    if lib == 'diffusers':
        return cls.from_config(cfg)
    config_cls = cls.config_class
    return cls(config_cls(**cfg))


def build_pretrained_module(lib, cls_name, from_pretrained=None,
                            subfolder=None, config=None, torch_dtype=None,
                            frozen=False, **overrides):
    """Build ``lib.cls_name`` in one of the three modes (see module doc)."""
    cls = (_diffusers_cls if lib == 'diffusers' else _transformers_cls)(
        cls_name)
    dtype = resolve_dtype(torch_dtype)
    meta = is_meta_build()
    if from_pretrained is not None and not meta:
        kwargs = dict(overrides)
        if lib == 'diffusers':
            # accelerate (a runtime dependency) loads the weights straight
            # into an empty model: no random init, one copy in memory (a
            # FLUX transformer is 24 GB). transformers >= 5 always does so.
            kwargs.setdefault('low_cpu_mem_usage', True)
        if dtype is not None:
            kwargs['torch_dtype'] = dtype
        module = call_from_pretrained(cls.from_pretrained, from_pretrained,
                                      subfolder, **kwargs)
        # mmengine's BaseModule.init_weights() calls `init_weights` of
        # children not marked `is_init`; transformers models have one and
        # would re-initialise the loaded weights.
        module.is_init = True
    else:
        if config is None and meta and from_pretrained is not None and \
                osp.isdir(str(from_pretrained)):
            config = str(from_pretrained)  # a local folder has config.json
        if config is None:
            if meta:
                raise ValueError(
                    f'{cls_name}: meta-device build needs `config` (the '
                    'architecture) next to from_pretrained='
                    f'{from_pretrained!r}; add the published config dict')
            raise ValueError(f'{cls_name}: give from_pretrained (hub id or '
                             'folder) or config (dict, config.json or folder)')
        cfg = clean_config(load_config_dict(config, subfolder,
                                            what=f'{cls_name}.config'))
        cfg.update(overrides)
        try:
            module = _instantiate(lib, cls, cfg)
        except TypeError as exc:
            raise TypeError(f'{cls_name}: bad config key in {sorted(cfg)}: '
                            f'{exc}') from exc
        if dtype is not None:
            module = module.to(dtype)
    if frozen:
        freeze(module)
    return module


def _register(lib, name, doc):

    def factory(from_pretrained=None, subfolder=None, config=None,
                torch_dtype=None, frozen=False, **overrides):
        return build_pretrained_module(
            lib, name, from_pretrained=from_pretrained, subfolder=subfolder,
            config=config, torch_dtype=torch_dtype, frozen=frozen,
            **overrides)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = (f'Build ``{lib}.{name}`` ({doc}); returns the plain '
                       'module.\n\nSee '
                       ':mod:`unidense.diffusion.model_factories` for the '
                       'keys.')
    factory.__module__ = __name__
    MODELS.register_module(name=name, module=factory)
    return factory


UNet2DConditionModel = _register(
    'diffusers', 'UNet2DConditionModel',
    'denoiser: sample (B, 4, h, w), timestep, encoder_hidden_states (B, L, D)')
AutoencoderKL = _register(
    'diffusers', 'AutoencoderKL',
    'VAE: RGB (B, 3, H, W) in [-1, 1] <-> latent')
PixArtTransformer2DModel = _register(
    'diffusers', 'PixArtTransformer2DModel', 'PixArt-alpha DiT')
FluxTransformer2DModel = _register(
    'diffusers', 'FluxTransformer2DModel', 'FLUX MMDiT')
CLIPTextModel = _register(
    'transformers', 'CLIPTextModel',
    'CLIP text tower: last_hidden_state (B, L, D), pooler_output (B, D)')
CLIPTextModelWithProjection = _register(
    'transformers', 'CLIPTextModelWithProjection',
    'CLIP text tower + projection: text_embeds (B, P)')
T5EncoderModel = _register(
    'transformers', 'T5EncoderModel',
    'T5 encoder: last_hidden_state (B, L, D)')

__all__ = ['build_pretrained_module', 'UNet2DConditionModel',
           'AutoencoderKL', 'PixArtTransformer2DModel',
           'FluxTransformer2DModel', 'CLIPTextModel',
           'CLIPTextModelWithProjection', 'T5EncoderModel']
