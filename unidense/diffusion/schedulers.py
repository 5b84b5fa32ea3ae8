"""Registered factories for the diffusers noise schedulers unidense uses.

They return the real diffusers scheduler (no proxy), so ``set_timesteps``,
``step``, ``add_noise`` and ``.config`` are diffusers' own::

    dict(type='DDIMScheduler', from_pretrained=<id or folder>,
         subfolder='scheduler')                      # published settings
    dict(type='DDIMScheduler', config=dict(...) | 'path/scheduler_config.json'
         | folder, **overrides)                      # config + overrides
    dict(type='DDIMScheduler', beta_schedule='scaled_linear', ...)  # kwargs

Inside :func:`~unidense.diffusion.meta_device_build` the scheduler is built
from ``config``/kwargs only (no network), and always on the CPU: it holds no
weights, and some schedulers (DPM-Solver++) copy their tables to numpy.
"""
import copy
import json
import os.path as osp

import torch

from unidense.registry import DIFFUSION_SCHEDULERS
from .pretrained import call_from_pretrained, clean_config, is_meta_build


def clean_latent_estimate(output: torch.Tensor, sample: torch.Tensor,
                          prediction_type: str, alpha_bar=None
                          ) -> torch.Tensor:
    """x0 from one network output at one timestep (DDIM's predicted
    original sample).

    Args:
        output: (B, C, h, w) epsilon, v or flow (noise - x0) prediction.
        sample: (B, C, h, w) the network's noisy input x_t.
        prediction_type: 'epsilon', 'v_prediction', 'sample' or 'flow'
            (flow at sigma = 1: x_t = noise).
        alpha_bar: the schedule's cumulative alpha at the timestep (float
            or 0-d tensor), for epsilon / v.
    """
    if prediction_type == 'flow':
        return sample - output
    if prediction_type == 'sample':
        return output
    a = float(alpha_bar)
    if prediction_type == 'epsilon':
        return (sample - (1 - a)**0.5 * output) / a**0.5
    if prediction_type == 'v_prediction':  # v = sqrt(a) eps - sqrt(1-a) x0
        return a**0.5 * sample - (1 - a)**0.5 * output
    raise ValueError(f'clean_latent_estimate: unknown prediction_type '
                     f'{prediction_type!r}')


def _load_scheduler_config(config, subfolder):
    if isinstance(config, dict):
        return dict(config)
    path = str(config)
    if osp.isdir(path):
        folder = osp.join(path, subfolder) if subfolder else path
        path = osp.join(folder, 'scheduler_config.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'scheduler config: no file at {path!r}')
    with open(path) as f:
        return json.load(f)


def build_scheduler(cls_name, from_pretrained=None, subfolder=None,
                    config=None, **kwargs):
    import diffusers
    cls = getattr(diffusers, cls_name)
    if from_pretrained is not None and not is_meta_build():
        scheduler = call_from_pretrained(cls.from_pretrained, from_pretrained,
                                         subfolder)
        if kwargs:
            scheduler = cls.from_config(scheduler.config, **kwargs)
        return scheduler
    if config is not None:
        cfg = clean_config(_load_scheduler_config(config, subfolder))
        cfg.update(kwargs)
        return cls.from_config(cfg)
    # from_config (not cls(**kwargs)) tolerates keys of a sibling class, as
    # when a DPM-Solver scheduler_config.json is loaded into DDPMScheduler.
    return cls.from_config(kwargs)


def as_scheduler(scheduler, private_copy: bool = False,
                 what: str = 'scheduler'):
    """The one way every part turns a scheduler argument into a scheduler.

    Args:
        scheduler: a ``DIFFUSION_SCHEDULERS`` config dict, a built diffusers
            scheduler (anything with ``set_timesteps`` and ``step``) or None
            (returned as is, for optional schedulers).
        private_copy: deep-copy a built scheduler. ``set_timesteps`` and
            ``step`` mutate a scheduler (step index, multistep history), so
            a sampler steps its own copy and the caller's object stays
            reusable: the same seed then gives the same result every call.
        what: the argument's name, for the error message.

    Raises:
        TypeError: for anything else, naming ``what``.
    """
    if scheduler is None:
        return None
    if isinstance(scheduler, dict):
        return DIFFUSION_SCHEDULERS.build(scheduler)
    if not hasattr(scheduler, 'set_timesteps') or not hasattr(
            scheduler, 'step'):
        raise TypeError(f'{what} must be a diffusers scheduler '
                        '(set_timesteps/step) or a DIFFUSION_SCHEDULERS '
                        f'config dict, got {type(scheduler).__name__}')
    return copy.deepcopy(scheduler) if private_copy else scheduler


def _register(name):

    def factory(from_pretrained=None, subfolder=None, config=None, **kwargs):
        with torch.device('cpu'):
            return build_scheduler(name, from_pretrained, subfolder, config,
                                   **kwargs)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f'Build ``diffusers.{name}`` (see module doc).'
    factory.__module__ = __name__
    DIFFUSION_SCHEDULERS.register_module(name=name, module=factory)
    return factory


DDPMScheduler = _register('DDPMScheduler')
DDIMScheduler = _register('DDIMScheduler')
DPMSolverMultistepScheduler = _register('DPMSolverMultistepScheduler')
FlowMatchEulerDiscreteScheduler = _register('FlowMatchEulerDiscreteScheduler')
