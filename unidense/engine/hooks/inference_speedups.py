"""Inference speed-ups switched on from a config: attention kernel,
channels-last memory, ``torch.compile`` and autocast.

One top-level config key serves ``tools/test.py`` (the runner registers an
:class:`InferenceSpeedupHook` for it) and ``unidense.apis.init_model``::

    inference_speedups = dict(
        attention='sdpa',      # 'sdpa' (diffusers' default), 'math', or a
                               # diffusers attention backend ('flash', ...)
        channels_last=True,    # conv networks in NHWC memory order
        compile=False,         # torch.compile every diffusers network
        autocast='bf16')       # None, 'bf16' or 'fp16' around inference

Each switch acts on the diffusers networks of a model (UNets, DiTs, VAEs)
found by type, so every estimator gets them without code of its own; heads
and necks run as they are (autocast covers them). Measured effects:
docs/benchmarks.md (``tools/analysis_tools/benchmark.py throughput``).
"""
import functools
from typing import List, Optional

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from unidense.registry import HOOKS
from .gradient_checkpointing_hook import outermost_modules

__all__ = ['apply_inference_speedups', 'switch_attention',
           'InferenceSpeedupHook']

_AUTOCAST = {'bf16': torch.bfloat16, 'fp16': torch.float16}
# the entry points of inference: mmengine's forward (test_step / val_step)
# and the estimators' own generation / estimation methods
_ENTRY_POINTS = ('forward', 'generate', 'sample', 'estimate',
                 'estimate_depth', 'inpaint')


def _diffusers_networks(model: nn.Module):
    """(name, module) of the outermost diffusers models in ``model``."""
    from diffusers.models.modeling_utils import ModelMixin
    return outermost_modules(model, lambda m: isinstance(m, ModelMixin))


def switch_attention(model: nn.Module, attention: str) -> int:
    """Set every diffusers attention layer of ``model`` (networks and loose
    blocks such as MERGE's converters) to ``attention``; returns how many
    layers run it.

    'sdpa': ``F.scaled_dot_product_attention`` (diffusers' default);
    'math': the explicit ``softmax(QK^T)V`` of ``AttnProcessor``, or SDPA's
    math kernel for dispatching processors (FLUX); any other name is a
    diffusers attention backend ('flash', 'xformers', ...) for dispatching
    processors.
    """
    from diffusers.models.attention import AttentionModuleMixin
    from diffusers.models.attention_dispatch import (
        AttentionBackendName, _check_attention_backend_requirements)
    from diffusers.models.attention_processor import (Attention,
                                                      AttnProcessor,
                                                      AttnProcessor2_0)
    name = dict(sdpa='native', math='_native_math').get(attention, attention)
    known = {b.value for b in AttentionBackendName}
    if name not in known:
        raise ValueError(f'inference_speedups: attention must be sdpa, math '
                         f'or one of {sorted(known)}, got {attention!r}')
    backend = AttentionBackendName(name)
    _check_attention_backend_requirements(backend)
    switched = 0
    for module in model.modules():
        if not isinstance(module, (Attention, AttentionModuleMixin)):
            continue
        processor = module.processor
        if hasattr(processor, '_attention_backend'):
            processor._attention_backend = backend
        elif attention == 'math' and isinstance(processor, AttnProcessor2_0):
            module.set_processor(AttnProcessor())
        elif attention == 'sdpa' and type(processor) is AttnProcessor:
            module.set_processor(AttnProcessor2_0())
        elif not (attention == 'sdpa' and
                  isinstance(processor, AttnProcessor2_0)):
            continue
        switched += 1
    return switched


def _with_autocast(method, device_type: str, dtype: torch.dtype):

    @functools.wraps(method)
    def wrapped(*args, **kwargs):
        if torch.is_grad_enabled():  # a training forward keeps its precision
            return method(*args, **kwargs)
        with torch.autocast(device_type=device_type, dtype=dtype):
            return method(*args, **kwargs)
    wrapped.__unidense_autocast__ = True
    return wrapped


def apply_inference_speedups(model: nn.Module,
                             attention: Optional[str] = None,
                             channels_last: bool = False,
                             compile: bool = False,
                             autocast: Optional[str] = None,
                             compile_kwargs: Optional[dict] = None
                             ) -> List[str]:
    """Switch ``model`` (in place) to faster inference; see the module doc.

    Args:
        attention: None (unchanged), 'sdpa', 'math' (explicit attention:
            ``set_default_attn_processor``, or SDPA's math kernel for
            processors without one) or a diffusers attention backend name.
        channels_last: convert the diffusers networks' weights to
            ``torch.channels_last`` (convolutions then run NHWC).
        compile: ``nn.Module.compile`` each diffusers network (in place:
            parameters and checkpoints are unchanged; the first call of a
            new input shape compiles).
        autocast: None, 'bf16' or 'fp16': the model's inference entry
            points (forward, generate, sample, estimate...) run under
            ``torch.autocast`` on the model's device when gradients are off
            (inference; a training forward is left as it is).
        compile_kwargs: extra ``torch.compile`` arguments.

    Returns:
        one line per change made, for the log.

    Raises:
        ValueError: an unknown ``autocast`` or ``attention`` value.
    """
    if autocast is not None and autocast not in _AUTOCAST:
        raise ValueError(f'inference_speedups: autocast must be None, '
                         f"'bf16' or 'fp16', got {autocast!r}")
    done = []
    networks = list(_diffusers_networks(model))
    if attention is not None:
        done.append(f'attention={attention}: '
                    f'{switch_attention(model, attention)} attention layers')
    if channels_last:
        for _, net in networks:
            net.to(memory_format=torch.channels_last)
        done.append('channels_last: ' + ', '.join(n for n, _ in networks))
    if compile:
        for _, net in networks:
            net.compile(**dict(compile_kwargs or {}))
        done.append('compile: ' + ', '.join(n for n, _ in networks))
    if autocast is not None:
        param = next(model.parameters(), None)
        device = param.device.type if param is not None else 'cpu'
        for name in _ENTRY_POINTS:
            method = getattr(model, name, None)
            if method is None or getattr(method, '__unidense_autocast__',
                                         False):
                continue
            setattr(model, name,
                    _with_autocast(method, device, _AUTOCAST[autocast]))
        done.append(f'autocast={autocast} on {device}')
    return done


@HOOKS.register_module()
class InferenceSpeedupHook(Hook):
    """Apply :func:`apply_inference_speedups` once, before testing
    (``tools/test.py``; validation inside a training run is left as it
    trains). Registered by the runner for a config's ``inference_speedups``
    key; usable in ``custom_hooks`` as well."""

    priority = 'VERY_HIGH'

    def __init__(self, **speedups):
        self.speedups = speedups
        self._applied = False

    def _apply(self, runner) -> None:
        if self._applied:
            return
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        for line in apply_inference_speedups(model, **self.speedups):
            runner.logger.info(f'inference speed-up: {line}')
        self._applied = True

    def before_test(self, runner) -> None:
        self._apply(runner)
