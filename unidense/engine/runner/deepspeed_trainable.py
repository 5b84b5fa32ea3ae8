"""DeepSpeed ZeRO-2 / ZeRO-3 for unidense models (optional ``deepspeed`` extra).

Selected by the top-level config key ``strategy='deepspeed'`` (ZeRO-2) or
``strategy=dict(type='deepspeed', stage=3, config=dict(...))``; install the
extra with ``pip install -r requirements/deepspeed.txt``::

    bash tools/dist_train.sh configs/merge/pixart_depth_tiny.py 2 \\
        --cfg-options strategy=deepspeed

``UnidenseRunner`` wraps the model in :class:`DeepSpeedTrainable` and, once
the config's optimizer is built, hands model and optimizer to
``deepspeed.initialize``. The optimizer holds only the trainable parameters,
so ZeRO partitions (ZeRO-2: gradients and optimizer state; ZeRO-3: also the
parameters) cover the trainable parts and never the frozen networks: DeepSpeed
partitions whatever parameters its optimizer gets, so passing all of
``model.parameters()`` would put frozen weights into the ZeRO-2 partitions.
The config's ``accumulative_counts`` becomes DeepSpeed's
``gradient_accumulation_steps`` and ``clip_grad.max_norm`` its
``gradient_clipping`` (0, off, without ``clip_grad``: DeepSpeed 0.19 would
otherwise clip every gradient at norm 1.0, which AdamW's scale invariance
hides and SGD shows); ``config`` adds or overrides DeepSpeed config keys.

Checkpoints: the ``.pth`` holds the consolidated trainable weights (ZeRO-3
gathers them), so single-process ``tools/test.py`` loads it like a DDP
checkpoint; the ZeRO partitions of the optimizer state go to DeepSpeed's own
folder ``<checkpoint>.zero/`` next to it, which ``--resume`` reads (same
process count) and which is deleted with its checkpoint.

Why not mmengine's ``FlexibleRunner`` + ``DeepSpeedStrategy``: it replaces
the runner that carries unidense's trainable-only atomic checkpoints,
random-state resume and CPU process groups, and is experimental in mmengine
0.10.7. On CPU DeepSpeed runs with its CPU accelerator over gloo.
"""
import contextlib
import os.path as osp
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from unidense.registry import MODEL_WRAPPERS
from unidense.utils.checkpoint_io import ZERO_STATE_SUFFIX

from .strategies import StepsWrapper

INSTALL_HINT = ('pip install -r requirements/deepspeed.txt (or pip install '
                "'unidense[deepspeed]')")


def import_deepspeed():
    """``deepspeed``, or an ImportError saying how to install it."""
    try:
        import deepspeed
    except ImportError as err:
        raise ImportError(
            f"strategy='deepspeed' needs the optional deepspeed package, "
            f'which is not installed ({err}): {INSTALL_HINT}; or use '
            "strategy='fsdp', which needs nothing extra") from err
    return deepspeed


def zero_state_dir(checkpoint_path: str) -> str:
    """DeepSpeed's folder of ZeRO partitions next to ``checkpoint_path``."""
    return checkpoint_path + ZERO_STATE_SUFFIX


class DeepSpeedOptimWrapper(OptimWrapper):
    """The optim wrapper of a DeepSpeed run: backward and step go through the
    engine (which scales for accumulation, clips and zeroes gradients); the
    wrapped optimizer is DeepSpeed's ZeRO optimizer, whose ``param_groups``
    the parameter schedulers adjust. Autocast contexts come from the
    config's wrapper (``inner``)."""

    def __init__(self, optimizer, engine, inner: OptimWrapper):
        if not hasattr(optimizer, 'defaults'):
            # mmengine reads it with several parameter groups (per-part
            # learning rates); the ZeRO optimizer wraps the config's one
            optimizer.defaults = inner.optimizer.defaults
        super().__init__(optimizer,
                         accumulative_counts=inner._accumulative_counts)
        self.engine = engine
        self.inner = inner

    def update_params(self, loss: torch.Tensor, **kwargs) -> None:
        self.engine.backward(loss)
        self.engine.step()

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        self.engine.backward(loss)

    def step(self, **kwargs) -> None:
        self.engine.step()

    def zero_grad(self, **kwargs) -> None:
        """Nothing: the engine zeroes gradients after each step."""

    def optim_context(self, model: nn.Module):
        return self.inner.optim_context(model)

    def state_dict(self) -> Dict:
        """Empty: the ZeRO partitions are saved by DeepSpeed itself
        (:func:`zero_state_dir`)."""
        return {}

    def load_state_dict(self, state_dict: Dict) -> None:
        """Nothing: ``--resume`` reads the ZeRO partitions from
        :func:`zero_state_dir`."""


@MODEL_WRAPPERS.register_module()
class DeepSpeedTrainable(StepsWrapper):
    """Train ``module`` with DeepSpeed ZeRO (stage 2 or 3).

    Args:
        module: the unidense model (an mmengine ``BaseModel``).
        stage: ZeRO stage, 2 (gradients and optimizer state partitioned) or
            3 (parameters too).
        config: DeepSpeed config keys merged over the ones derived from the
            unidense config (e.g. ``dict(bf16=dict(enabled=True))``).

    Until :meth:`initialize` (the runner calls it when it builds the
    optimizer) the wrapper evaluates ``module`` directly, so
    ``tools/test.py`` needs no engine.
    """

    def __init__(self, module: nn.Module, stage: int = 2,
                 config: Optional[Dict] = None):
        import_deepspeed()
        if stage not in (2, 3):
            raise ValueError(f'ZeRO stage must be 2 or 3, got {stage!r}')
        super().__init__(module)
        self.stage = stage
        self.extra_config = dict(config or {})
        self.engine = None

    # ------------------------------------------------------------ set-up
    def deepspeed_config(self, optim_wrapper: OptimWrapper,
                         micro_batch_size: int) -> Dict:
        """DeepSpeed's config from the unidense one (see module doc)."""
        cfg = dict(
            train_micro_batch_size_per_gpu=int(micro_batch_size),
            gradient_accumulation_steps=int(
                optim_wrapper._accumulative_counts),
            zero_optimization=dict(stage=self.stage),
            zero_allow_untested_optimizer=True,
            # DeepSpeed (0.19) clips at norm 1.0 unless told otherwise;
            # unidense clips only where the config's clip_grad says so
            gradient_clipping=0.0,
            steps_per_print=2**31 - 1)
        clip = getattr(optim_wrapper, 'clip_grad_kwargs', None) or {}
        if clip:
            if getattr(optim_wrapper, 'clip_func', None) is not \
                    torch.nn.utils.clip_grad_norm_ or 'max_norm' not in clip:
                raise ValueError('DeepSpeed clips by norm only; the config '
                                 f'asks for clip_grad={clip}')
            cfg['gradient_clipping'] = float(clip['max_norm'])
        for key, value in self.extra_config.items():
            if isinstance(value, dict) and isinstance(cfg.get(key), dict):
                cfg[key] = {**cfg[key], **value}
            else:
                cfg[key] = value
        return cfg

    def initialize(self, optim_wrapper: OptimWrapper,
                   micro_batch_size: int) -> DeepSpeedOptimWrapper:
        """``deepspeed.initialize`` with the config's optimizer (trainable
        parameters only); returns the optim wrapper the runner trains
        with."""
        deepspeed = import_deepspeed()
        if hasattr(optim_wrapper, 'optim_wrappers'):
            raise ValueError("strategy='deepspeed' takes one optimizer; the "
                             'config builds several (OptimWrapperDict)')
        engine, optimizer, _, _ = deepspeed.initialize(
            model=self.module, optimizer=optim_wrapper.optimizer,
            config=self.deepspeed_config(optim_wrapper, micro_batch_size))
        self.engine = engine
        return DeepSpeedOptimWrapper(optimizer, engine, optim_wrapper)

    def describe(self) -> str:
        trained = sum(p.numel() for p in self.module.parameters()
                      if p.requires_grad)
        return (f'DeepSpeedTrainable: ZeRO-{self.stage} over the '
                f'{trained / 1e6:.3f}M trainable parameters (frozen networks '
                f'outside the optimizer partitions)')

    def _trained_forward(self):
        if self.engine is None:
            raise RuntimeError('DeepSpeedTrainable.initialize was not called '
                               '(the runner does it when it builds the '
                               'optimizer)')
        return self.engine

    # ------------------------------------------------------- checkpoints
    def full_state_dict(self) -> Dict:
        """The module's state with full tensors on every rank (ZeRO-3
        gathers its partitioned parameters: a collective)."""
        if self.stage == 3 and self.engine is not None:
            deepspeed = import_deepspeed()
            params = list(self.module.parameters())
            with deepspeed.zero.GatheredParameters(params):
                return {k: v.detach().cpu().clone()
                        for k, v in self.module.state_dict().items()}
        return self.module.state_dict()

    @contextlib.contextmanager
    def loading(self):
        """Load full weights into the module inside: ZeRO-3 gathers the
        parameters and re-partitions rank 0's values on exit; afterwards
        the ZeRO optimizer's fp32 master partitions are refreshed from the
        module (they would overwrite the loaded weights at the next step)."""
        if self.engine is None:
            yield
            return
        if self.stage == 3:
            deepspeed = import_deepspeed()
            with deepspeed.zero.GatheredParameters(
                    list(self.module.parameters()), modifier_rank=0):
                yield
        else:
            yield
        self.engine.optimizer._restore_from_bit16_weights()

    def save_zero_state(self, checkpoint_path: str) -> str:
        """DeepSpeed's checkpoint (ZeRO partitions of the optimizer state,
        trainable weights) in :func:`zero_state_dir` (every rank writes its
        part: a collective)."""
        folder, name = osp.split(zero_state_dir(checkpoint_path))
        self.engine.save_checkpoint(folder, tag=name, save_latest=False,
                                    exclude_frozen_parameters=True)
        return zero_state_dir(checkpoint_path)

    def load_zero_state(self, checkpoint_path: str) -> None:
        """Resume the engine (weights and optimizer partitions) from the
        folder :meth:`save_zero_state` wrote next to ``checkpoint_path``."""
        path = zero_state_dir(checkpoint_path)
        if not osp.isdir(path):
            raise FileNotFoundError(
                f'{checkpoint_path} was not written by a DeepSpeed run or '
                f'lost its ZeRO state folder {path}: cannot resume the '
                'optimizer state under DeepSpeed')
        folder, name = osp.split(path)
        loaded, _ = self.engine.load_checkpoint(
            folder, tag=name, load_module_strict=False,
            load_optimizer_states=True, load_lr_scheduler_states=False)
        if loaded is None:
            raise RuntimeError(f'DeepSpeed could not load {path}')
