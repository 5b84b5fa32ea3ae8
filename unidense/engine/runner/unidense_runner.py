"""UnidenseRunner: mmengine's Runner with the runtime guarantees unidense needs.

Selected by ``runner_type='UnidenseRunner'`` (``configs/_base_/default_runtime.py``).
On top of ``mmengine.runner.Runner`` it

* starts a gloo process group itself on machines without CUDA (mmengine's
  ``init_dist`` calls ``torch.cuda.set_device``) and wraps the model in DDP
  with ``device_ids=None`` there; with CUDA, mmengine's NCCL path is untouched;
* turns ``AmpOptimWrapper`` into bf16 autocast (:class:`AutocastOptimWrapper`)
  when there is no CUDA, with a warning, instead of crashing;
* writes checkpoints atomically with a provenance marker, replaces a plain
  ``CheckpointHook`` by :class:`AtomicCheckpointHook`;
* stores only trainable state in ``state_dict`` (frozen pretrained weights are
  rebuilt from the config), unless ``save_frozen_weights=True``;
* loads checkpoints without unpickling files unidense did not write, unless
  ``trust_checkpoint=True`` (``--trust-checkpoint``);
* saves and restores the python/numpy/torch random state of every rank, so a
  resumed run is identical to an uninterrupted one.

Extra top-level config keys: ``strategy`` (``'ddp'``, the default, or
``'fsdp'`` / ``'deepspeed'`` or a dict, see :mod:`.strategies`;
checkpoints consolidated on save), ``trust_checkpoint`` (bool, default False),
``save_frozen_weights`` (bool, default False), ``inference_speedups``
(dict for :class:`~unidense.engine.hooks.InferenceSpeedupHook`, applied
before testing). ``sync_bn='torch'`` works on
CPU DDP too (:class:`~.cpu_sync_batchnorm.CPUSyncBatchNorm`).
"""
import contextlib
import copy
import os
import os.path as osp
import re
import time
from typing import Callable, Dict, Optional, Union

import mmengine
from mmengine.config import Config
import torch
import torch.nn as nn
from mmengine.dist import (all_gather_object, broadcast, get_rank,
                           is_distributed)
from mmengine.fileio import join_path
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint
from mmengine.device import get_device
from mmengine.utils import apply_to
from mmengine.utils import get_git_hash

from unidense.registry import MODEL_WRAPPERS, RUNNERS
from unidense.utils.checkpoint_io import (load_checkpoint_safe,
                                          save_checkpoint_atomic)
from unidense.utils.dist_env import cuda_usable, init_cpu_dist
from unidense.utils.random_state import get_rng_state, set_rng_state
from unidense.utils.trainable_state import (load_trainable_checkpoint,
                                            trainable_state_dict,
                                            trainable_state_keys)
from .deepspeed_trainable import DeepSpeedOptimWrapper, DeepSpeedTrainable
from .fully_sharded import FullyShardedTrainable
from .strategies import strategy_wrapper_cfg

_CHECKPOINT_HOOK_NAMES = ('CheckpointHook', 'mmengine.CheckpointHook')
_AMP_NAMES = ('AmpOptimWrapper', 'mmengine.AmpOptimWrapper')


class _ValRandomStateHook(Hook):
    """Keeps validation from shifting the training random stream.

    Without it, a run validated at step k would draw different training
    noise afterwards than a run resumed from the step-k checkpoint (which
    does not repeat that validation).
    """
    priority = 'VERY_HIGH'

    def before_val(self, runner) -> None:
        runner._rng_before_val = get_rng_state()

    def after_val(self, runner) -> None:
        state = getattr(runner, '_rng_before_val', None)
        runner._rng_before_val = None
        if state is not None:
            set_rng_state(state)


class _RestoreRandomStateAfter:
    """Iterator wrapper: after the train loop has re-read the ``skip``
    batches it trained on before the checkpoint, restore the random state
    saved in the checkpoint, so batch ``skip + 1`` onwards is drawn exactly
    as in the uninterrupted run."""

    def __init__(self, inner, skip: int, state: Dict):
        self._inner = inner
        self._skip = skip
        self._seen = 0
        self._state = state

    def __iter__(self):
        return self

    def __next__(self):
        if self._state is not None and self._seen >= self._skip:
            set_rng_state(self._state)
            self._state = None
        data = next(self._inner)
        self._seen += 1
        return data

    def __getattr__(self, name):
        return getattr(self._inner, name)


class TextCachingConfig(Config):
    """A ``Config`` whose ``pretty_text`` is formatted once per content.

    mmengine formats the whole config with yapf for the log, the dumped
    config, the visualizer and *every checkpoint's* metadata: seconds per
    call for a large config (3.5 s for a Diff-2-in-1 tiny config), paid at
    each save. The text is cached under the config's current content (its
    ``repr``), so a changed config is formatted again.
    """

    @property
    def pretty_text(self) -> str:
        key = repr(self._cfg_dict)
        cached = self.__dict__.get('_unidense_pretty_text')
        if cached is None or cached[0] != key:
            cached = (key, Config.pretty_text.fget(self))
            object.__setattr__(self, '_unidense_pretty_text', cached)
        return cached[1]


@RUNNERS.register_module()
class UnidenseRunner(Runner):
    """mmengine ``Runner`` plus CPU-DDP, safe and atomic checkpoints.

    Takes exactly the arguments of ``mmengine.runner.Runner``; build it with
    ``RUNNERS.build(cfg)`` / ``UnidenseRunner.from_cfg(cfg)``.
    """

    # ------------------------------------------------------------------ env
    def __init__(self, *args, **kwargs):
        cfg = kwargs.get('cfg')
        if isinstance(cfg, Config) and not isinstance(cfg,
                                                      TextCachingConfig):
            cfg = copy.deepcopy(cfg)
            object.__setattr__(cfg, '__class__', TextCachingConfig)
            kwargs['cfg'] = cfg
        super().__init__(*args, **kwargs)

    def setup_env(self, env_cfg: Dict) -> None:
        if self.distributed and not is_distributed() and not cuda_usable():
            dist_cfg = dict(env_cfg.get('dist_cfg', {}) or {})
            if dist_cfg.get('backend', 'gloo') != 'gloo':
                print(f'[unidense] no CUDA device: using the gloo backend '
                      f'instead of {dist_cfg["backend"]!r}')
            init_cpu_dist(self.launcher, **dist_cfg)
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict],
                   model: nn.Module) -> nn.Module:
        strategy_cfg = strategy_wrapper_cfg(self.cfg.get('strategy', None))
        if strategy_cfg is not None and not is_model_wrapper(model):
            if model_wrapper_cfg is not None:
                raise ValueError(
                    f'the config sets both strategy={self.cfg.strategy!r} '
                    f'and model_wrapper_cfg={model_wrapper_cfg!r}: keep one')
            if not self.distributed:
                self.logger.warning(
                    f'strategy={self.cfg.strategy!r} in a single process: '
                    'nothing to shard, training the model unwrapped')
                return super().wrap_model(None, model)
            # mmengine initialises weights after wrapping; FSDP units must
            # be cut from the initialised, synchronised weights instead
            self._init_weights_and_broadcast(model.to(get_device()))
            if self.cfg.get('sync_bn', None) is not None and \
                    not cuda_usable():
                wrapped = self._wrap_with_cpu_sync_bn(strategy_cfg, model)
            else:
                wrapped = super().wrap_model(strategy_cfg, model)
            self.logger.info(wrapped.describe())
            return wrapped
        if self.distributed and not cuda_usable() and not is_model_wrapper(
                model):
            # DDP on CPU modules must not get device_ids; mmengine always
            # passes [LOCAL_RANK]. Config values win over default_args, so
            # setting it in the config dict is enough.
            if model_wrapper_cfg is None:
                model_wrapper_cfg = dict(
                    type='MMDistributedDataParallel',
                    broadcast_buffers=False,
                    find_unused_parameters=self.cfg.get(
                        'find_unused_parameters', False))
            model_wrapper_cfg = copy.deepcopy(dict(model_wrapper_cfg))
            wrapper_type = MODEL_WRAPPERS.get(
                model_wrapper_cfg.get('type', 'MMDistributedDataParallel'))
            if isinstance(wrapper_type, type) and issubclass(
                    wrapper_type, torch.nn.parallel.DistributedDataParallel):
                model_wrapper_cfg['device_ids'] = None
            if self.cfg.get('sync_bn', None) is not None:
                return self._wrap_with_cpu_sync_bn(model_wrapper_cfg, model)
        return super().wrap_model(model_wrapper_cfg, model)

    @staticmethod
    def _init_weights_and_broadcast(model: nn.Module) -> None:
        if hasattr(model, 'init_weights'):
            model.init_weights()
            for tensor in model.state_dict().values():
                broadcast(tensor)

    def _init_model_weights(self) -> None:
        if isinstance(self.model, (FullyShardedTrainable, DeepSpeedTrainable)):
            return      # done before sharding (wrap_model)
        super()._init_model_weights()

    def _wrap_with_cpu_sync_bn(self, model_wrapper_cfg, model):
        """``sync_bn`` on CPU DDP: torch's SyncBatchNorm needs a GPU, so
        BatchNorm layers become :class:`CPUSyncBatchNorm` (statistics over
        every process through gloo) and mmengine's conversion is skipped."""
        from .cpu_sync_batchnorm import convert_cpu_sync_batchnorm
        model = convert_cpu_sync_batchnorm(model)
        self.logger.info('sync_bn on CPU: BatchNorm layers synchronise '
                         'their statistics over gloo (CPUSyncBatchNorm)')
        saved = self.cfg
        self.cfg = Config({k: v for k, v in saved.items() if k != 'sync_bn'})
        try:
            return super().wrap_model(model_wrapper_cfg, model)
        finally:
            self.cfg = saved

    # ---------------------------------------------------------------- optim
    def build_optim_wrapper(self, optim_wrapper):
        if isinstance(optim_wrapper, dict) and not cuda_usable():
            wtype = optim_wrapper.get('type', 'OptimWrapper')
            if wtype in _AMP_NAMES or wtype is AmpOptimWrapper:
                optim_wrapper = copy.deepcopy(dict(optim_wrapper))
                dtype = optim_wrapper.pop('dtype', None) or 'bfloat16'
                optim_wrapper.pop('loss_scale', None)
                optim_wrapper.pop('use_fsdp', None)
                if dtype in ('float16', torch.float16):
                    dtype = 'bfloat16'
                self.logger.warning(
                    'AMP: AmpOptimWrapper needs a GPU; no CUDA device here, '
                    'so training uses bfloat16 autocast on CPU '
                    '(AutocastOptimWrapper) without loss scaling.')
                optim_wrapper.update(type='AutocastOptimWrapper',
                                     dtype=str(dtype).replace('torch.', ''),
                                     device_type='cpu')
        built = super().build_optim_wrapper(optim_wrapper)
        if isinstance(self.model, DeepSpeedTrainable) and not isinstance(
                built, DeepSpeedOptimWrapper):
            built = self.model.initialize(
                built, self.cfg.train_dataloader.batch_size)
        # per-sample training draws (train_seed) follow the optimizer step,
        # so B x accumulation draws what one batch of the summed size draws
        wrappers = built.values() if hasattr(built, 'values') else [built]
        counts = max((int(getattr(w, '_accumulative_counts', 1) or 1)
                      for w in wrappers), default=1)
        self.message_hub.update_info('accumulative_counts', counts)
        return built

    # ---------------------------------------------------------------- hooks
    def register_hook(self, hook, priority=None) -> None:
        if isinstance(hook, dict) and (
                hook.get('type') in _CHECKPOINT_HOOK_NAMES
                or hook.get('type') is CheckpointHook):
            hook = dict(hook, type='AtomicCheckpointHook')
        elif type(hook) is CheckpointHook:
            self.logger.warning(
                'A plain CheckpointHook instance writes last_checkpoint '
                'non-atomically; use AtomicCheckpointHook.')
        super().register_hook(hook, priority)

    def register_default_hooks(self, hooks=None) -> None:
        if hooks is not None:
            # ``name=None`` disables a hook; mmengine only allows that for its
            # own six defaults, so configs could not drop e.g. visualization.
            own = ('runtime_info', 'timer', 'sampler_seed', 'logger',
                   'param_scheduler', 'checkpoint')
            hooks = {k: v for k, v in hooks.items()
                     if v is not None or k in own}
        super().register_default_hooks(hooks)

    def register_hooks(self, default_hooks=None, custom_hooks=None) -> None:
        super().register_hooks(default_hooks, custom_hooks)
        self.register_hook(_ValRandomStateHook())
        speedups = self.cfg.get('inference_speedups', None)
        if speedups:
            self.register_hook(dict(type='InferenceSpeedupHook',
                                    **dict(speedups)))

    # ----------------------------------------------------------- checkpoint
    @property
    def trust_checkpoint(self) -> bool:
        return bool(self.cfg.get('trust_checkpoint', False))

    def _unwrapped(self) -> nn.Module:
        return self.model.module if is_model_wrapper(
            self.model) else self.model

    def _states_to_save(self, save_frozen: bool, save_optimizer: bool):
        """(model state, optimizer state or None) for a checkpoint, called
        on every rank: under FSDP they are consolidated, the file a DDP run
        writes (gathering is a collective; only rank 0 keeps the tensors)."""
        model = self._unwrapped()
        optimizer_state = self.optim_wrapper.state_dict() if (
            save_optimizer and isinstance(self.optim_wrapper,
                                          OptimWrapper)) else None
        if isinstance(self.model, DeepSpeedTrainable):
            # (ZeRO-3 gathers; the optimizer state is DeepSpeed's own file)
            full = self.model.full_state_dict()
            keep = set(full) if save_frozen else trainable_state_keys(model)
            return type(full)((k, v) for k, v in full.items()
                              if k in keep), optimizer_state
        state = model.state_dict() if save_frozen else trainable_state_dict(
            model)
        if isinstance(self.model, FullyShardedTrainable):
            keep = get_rank() == 0
            state = self.model.gather_full(state, keep)
            optimizer_state = self.model.gather_full(optimizer_state, keep)
        return state, optimizer_state

    def _param_scheduler_states(self):
        if isinstance(self.param_schedulers, dict):
            return {name: [s.state_dict() for s in schedulers]
                    for name, schedulers in self.param_schedulers.items()}
        return [s.state_dict() for s in self.param_schedulers]

    def save_checkpoint(self,
                        out_dir: str,
                        filename: str,
                        file_client_args: Optional[dict] = None,
                        save_optimizer: bool = True,
                        save_param_scheduler: bool = True,
                        meta: Optional[dict] = None,
                        by_epoch: bool = True,
                        backend_args: Optional[dict] = None):
        """Save a checkpoint atomically (called on every rank; rank 0 writes).

        Same arguments as ``mmengine.runner.Runner.save_checkpoint``;
        ``file_client_args`` / ``backend_args`` must describe a local folder.
        """
        # Every rank's random state goes into the checkpoint; gathering is a
        # collective, so all ranks must get here before rank 0 writes.
        rng = get_rng_state()
        if getattr(self, '_rng_before_val', None) is not None:
            rng = self._rng_before_val
        rng_states = all_gather_object(rng) if is_distributed() else [rng]
        save_frozen = bool(self.cfg.get('save_frozen_weights', False))
        state, optimizer_state = self._states_to_save(save_frozen,
                                                      save_optimizer)
        filepath = join_path(out_dir, filename, backend_args=backend_args)
        if isinstance(self.model, DeepSpeedTrainable) and save_optimizer \
                and self.model.engine is not None:
            # the ZeRO partitions first: a checkpoint file only appears
            # once the folder it depends on is complete
            self.model.save_zero_state(filepath)
        if get_rank() != 0:
            return
        if meta is None:
            meta = {}
        elif not isinstance(meta, dict):
            raise TypeError(
                f'meta should be a dict or None, but got {type(meta)}')
        if by_epoch:
            meta.setdefault('epoch', self.epoch + 1)
            meta.setdefault('iter', self.iter)
        else:
            meta.setdefault('epoch', self.epoch)
            meta.setdefault('iter', self.iter + 1)
        if '://' in str(filepath):
            raise ValueError(f'UnidenseRunner saves checkpoints to local '
                             f'folders only, got {filepath}')

        meta.update(
            cfg=self.cfg.pretty_text,
            seed=self.seed,
            experiment_name=self.experiment_name,
            time=time.strftime('%Y%m%d_%H%M%S', time.localtime()),
            mmengine_version=mmengine.__version__ + get_git_hash(),
            unidense=dict(trainable_only=not save_frozen,
                          world_size=self.world_size))
        if hasattr(self.train_dataloader.dataset, 'metainfo'):
            meta.update(dataset_meta=self.train_dataloader.dataset.metainfo)

        to_cpu = (lambda x: hasattr(x, 'cpu'), lambda x: x.cpu())
        checkpoint = dict(
            meta=meta,
            state_dict=apply_to(state, *to_cpu),
            message_hub=apply_to(self.message_hub.state_dict(), *to_cpu),
            rng_states=apply_to(rng_states, *to_cpu))
        if save_optimizer:
            if not isinstance(self.optim_wrapper, OptimWrapper):
                raise TypeError('self.optim_wrapper should be an '
                                '`OptimWrapper` or `OptimWrapperDict` '
                                f'instance, but got {self.optim_wrapper}')
            checkpoint['optimizer'] = apply_to(optimizer_state, *to_cpu)
        if save_param_scheduler and self.param_schedulers is not None:
            checkpoint['param_schedulers'] = self._param_scheduler_states()
        self.call_hook('before_save_checkpoint', checkpoint=checkpoint)
        save_checkpoint_atomic(checkpoint, filepath)

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):
        """Load weights from ``filename`` safely.

        Local pickles need a unidense marker or ``trust_checkpoint=True``
        (see :func:`unidense.utils.load_checkpoint_safe`). A checkpoint that
        holds only trainable weights loads without complaints about frozen
        keys; missing *trainable* keys raise on resume and warn otherwise
        (raise if ``strict``).
        """
        if '://' in str(filename):
            checkpoint = _load_checkpoint(filename, map_location=map_location)
        else:
            checkpoint = load_checkpoint_safe(
                filename, map_location=map_location,
                trust_checkpoint=self.trust_checkpoint)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)

        resuming = getattr(self, '_resuming', False)
        sharded = isinstance(self.model, FullyShardedTrainable)
        zero = isinstance(self.model, DeepSpeedTrainable)
        with self.model.loading() if zero else contextlib.nullcontext():
            load_trainable_checkpoint(
                self._unwrapped(), checkpoint, filename,
                revise_keys=revise_keys, strict=strict, resuming=resuming,
                warn=self.logger.warning,
                prepare_state=self.model.shard_model_state
                if sharded else None)
        if zero and resuming:
            self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
            self.model.load_zero_state(filename)
        if sharded and resuming and isinstance(checkpoint, dict) and \
                'optimizer' in checkpoint:
            # mmengine's resume hands checkpoint['optimizer'] to the built
            # optim wrapper next; cut its full tensors into this rank's shards
            self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
            checkpoint['optimizer'] = self.model.shard_optimizer_state(
                self.optim_wrapper, checkpoint['optimizer'])

        self._has_loaded = True
        self._loaded_checkpoint_extras = dict(
            rng_states=checkpoint.get('rng_states') if isinstance(
                checkpoint, dict) else None)
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def _resumable_checkpoint(self):
        """The checkpoint ``--resume`` (auto) continues from: the one
        ``last_checkpoint`` names when it is intact (file present, marker
        matching), else the newest intact ``iter_*.pth`` / ``epoch_*.pth``
        of the work dir, with a warning naming the damaged file. Nothing
        is deleted or overwritten here."""
        from mmengine.runner import find_latest_checkpoint

        from unidense.utils.checkpoint_io import has_valid_marker
        named = find_latest_checkpoint(self.work_dir)
        candidates = [named] if named else []
        pattern = re.compile(r'^(iter|epoch)_(\d+)\.pth$')
        found = sorted(
            (int(m.group(2)), osp.join(self.work_dir, f))
            for f in os.listdir(self.work_dir)
            for m in [pattern.match(f)] if m) if osp.isdir(
                self.work_dir) else []
        candidates += [path for _, path in reversed(found)
                       if path != named]
        for path in candidates:
            if osp.isfile(path) and (has_valid_marker(path) or
                                     self.trust_checkpoint):
                if path != named:
                    self.logger.warning(
                        f'last_checkpoint names {named}, which is missing '
                        f'or damaged (marker does not match); resuming from '
                        f'the newest intact checkpoint {path} instead')
                return path
        if named:
            self.logger.warning(f'{named} (from last_checkpoint) is missing '
                                f'or damaged and no intact checkpoint is '
                                f'left in {self.work_dir}: starting anew')
        return None

    def load_or_resume(self) -> None:
        """mmengine's, with a fallback for damaged checkpoints when resuming
        automatically (see :meth:`_resumable_checkpoint`)."""
        if self._has_loaded:
            return None
        if self._resume and self._load_from is None:
            resume_from = self._resumable_checkpoint()
            if resume_from is not None:
                self.logger.info(f'Auto resumed from {resume_from}.')
                self.resume(resume_from)
                self._has_loaded = True
            return None
        return super().load_or_resume()

    def resume(self,
               filename: str,
               resume_optimizer: bool = True,
               resume_param_scheduler: bool = True,
               map_location: Union[str, Callable] = 'default') -> None:
        self._resuming = True
        try:
            super().resume(filename, resume_optimizer, resume_param_scheduler,
                           map_location)
        finally:
            self._resuming = False
        extras = getattr(self, '_loaded_checkpoint_extras', {}) or {}
        states = extras.get('rng_states')
        if not states:
            self.logger.warning(
                f'{filename} has no random state: the resumed run will not '
                'reproduce an uninterrupted one exactly.')
            return
        if len(states) == self.world_size:
            state = states[self.rank]
        else:
            self.logger.warning(
                f'{filename} was saved by {len(states)} processes, resuming '
                f'with {self.world_size}: every rank takes rank 0\'s random '
                'state.')
            state = states[0]
        loop = self.train_loop
        iterator = getattr(loop, 'dataloader_iterator', None)
        if iterator is not None and getattr(loop, '_iter', 0) > 0:
            # IterBasedTrainLoop re-reads the already-trained batches first;
            # restore the random state right after that replay.
            loop.dataloader_iterator = _RestoreRandomStateAfter(
                iterator, loop._iter, state)
        else:
            set_rng_state(state)
