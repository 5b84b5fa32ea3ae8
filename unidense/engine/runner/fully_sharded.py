"""FSDP for unidense models: torch's ``fully_shard`` (FSDP2) on the trainable
parts, frozen pretrained networks replicated.

Selected by the top-level config key ``strategy='fsdp'`` (or
``strategy=dict(type='fsdp', ...)``, keys below); ``UnidenseRunner`` then
wraps the model in :class:`FullyShardedTrainable` instead of DDP::

    bash tools/dist_train.sh configs/merge/pixart_depth_tiny.py 2 \\
        --cfg-options strategy=fsdp

Why FSDP2 through a model wrapper and not mmengine's ``FlexibleRunner`` +
``FSDPStrategy``: that path is FSDP1 and experimental in mmengine 0.10.7,
and FSDP1 with frozen parameters needs ``use_orig_params=True`` and still
keeps gradient memory for the frozen weights inside its flat parameters.
Here each *outermost module whose parameters are all trainable* (MERGE's
fusion, JointNet's joint branch and exchange convolutions, the heads) and
each block of its module lists (a converter, a UNet block) becomes its own
``fully_shard`` unit, the root unit takes the trainable
parameters left over, and the frozen networks are passed as
``ignored_params``: they stay plain replicated tensors (no gradients, no
communication; hold them in bf16 with ``FrozenWeightsDtypeHook``).
Gradients are reduce-scattered with the same average DDP all-reduces, so
the training is DDP's up to float rounding (tested: the tiny MERGE after
two-process training, max abs diff of the weights <= 1e-5).

Checkpoints stay consolidated: ``UnidenseRunner`` gathers the sharded
parameters and optimizer state into full tensors on save (the same file a
DDP run writes, loadable by single-process ``tools/test.py``) and shards
full tensors again on load and resume, so runs resume across strategies.
"""
from contextlib import contextmanager
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn

from unidense.registry import MODEL_WRAPPERS

from .strategies import StepsWrapper


def _dtensor_type():
    from torch.distributed.tensor import DTensor
    return DTensor


def is_sharded(value) -> bool:
    """Is ``value`` a DTensor (an FSDP2-sharded parameter or state)?"""
    return isinstance(value, _dtensor_type())


def _all_trainable(module: nn.Module) -> bool:
    params = list(module.parameters())
    return bool(params) and all(p.requires_grad for p in params)


def _has_forward(module: nn.Module) -> bool:
    # fully_shard hooks forward; containers (ModuleList / ModuleDict) have
    # none, so their entries become units instead
    return type(module).forward is not nn.Module.forward


def trainable_units(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """``(name, module)`` of the FSDP units below the root, inner ones
    first: each outermost all-trainable submodule of ``model`` that has a
    ``forward`` (MERGE's fusion, JointNet's joint UNet, a head) and, inside
    it, each entry of its outermost module lists (a converter, a UNet
    block), as the usual transformer-block wrapping policy does."""
    units, seen = [], set()

    def blocks_of(module: nn.Module, prefix: str):
        for name, child in module.named_children():
            if id(child) in seen:
                continue
            if isinstance(child, nn.ModuleList):
                for i, block in enumerate(child):
                    if _has_forward(block) and id(block) not in seen and \
                            any(True for _ in block.parameters()):
                        seen.add(id(block))
                        units.append((f'{prefix}{name}.{i}', block))
            else:
                blocks_of(child, f'{prefix}{name}.')

    def visit(module: nn.Module, prefix: str):
        for name, child in module.named_children():
            if id(child) in seen:
                continue
            seen.add(id(child))
            if _all_trainable(child) and _has_forward(child):
                blocks_of(child, f'{prefix}{name}.')
                units.append((prefix + name, child))
            else:
                visit(child, f'{prefix}{name}.')

    visit(model, '')
    return units


@MODEL_WRAPPERS.register_module()
class FullyShardedTrainable(StepsWrapper):
    """Shard the trainable parameters, gradients and optimizer state of
    ``module`` over the default process group (FSDP2 ``fully_shard``);
    frozen parameters stay replicated.

    Args:
        module: the unidense model (an mmengine ``BaseModel``), on the
            device it trains on.
        reshard_after_forward: free each unit's gathered parameters after
            its forward and gather them again for backward (ZeRO-3; False
            keeps them until backward, ZeRO-2-like, more memory, less
            communication).
        units: ``'modules'`` (default): units per :func:`trainable_units`
            plus the root; ``'model'``: a single root unit (all
            trainable parameters gathered for the whole forward; use it when
            a model reads a trainable module's weights outside that module's
            ``forward``, which per-module units do not allow).
        forward_methods: methods of a unit besides ``forward`` that gather
            its parameters when called (the heads' ``loss`` / ``predict``,
            which call ``self.forward`` directly, the mmseg convention).

    The wrapper offers mmengine's ``train_step`` / ``val_step`` /
    ``test_step`` like ``MMDistributedDataParallel``; ``no_sync`` skips the
    gradient reduction during accumulation.
    """

    def __init__(self, module: nn.Module, reshard_after_forward: bool = True,
                 units: str = 'modules',
                 forward_methods: Sequence[str] = ('loss', 'predict')):
        super().__init__(module)
        import torch.distributed as dist
        from torch.distributed.device_mesh import init_device_mesh
        try:
            from torch.distributed.fsdp import (fully_shard,
                                                register_fsdp_forward_method)
        except ImportError as err:
            raise ImportError(
                f"strategy='fsdp' needs torch>=2.7 (FSDP2 fully_shard with "
                f'ignored_params); this is torch {torch.__version__}') from err
        if not dist.is_available() or not dist.is_initialized():
            raise RuntimeError(
                "strategy='fsdp' needs a process group: launch with "
                'tools/dist_train.sh (or --launcher pytorch / slurm)')
        if units not in ('modules', 'model'):
            raise ValueError(f"units must be 'modules' or 'model', got "
                             f'{units!r}')
        if not any(p.requires_grad for p in module.parameters()):
            raise ValueError(f'{type(module).__name__} has no trainable '
                             'parameters to shard')
        device = next(module.parameters()).device
        self.mesh = init_device_mesh(device.type, (dist.get_world_size(), ))
        frozen = {p for p in module.parameters() if not p.requires_grad}
        self.unit_names = []
        if units == 'modules':
            for name, unit in trainable_units(module):
                fully_shard(unit, mesh=self.mesh,
                            reshard_after_forward=reshard_after_forward)
                # heads are entered through loss() / predict(), which call
                # self.forward directly: gather the unit there as well
                for method in forward_methods:
                    if callable(getattr(type(unit), method, None)):
                        register_fsdp_forward_method(unit, method)
                self.unit_names.append(name)
        # the root unit: trainable parameters outside the units above, and
        # the hooks that run the units' gradient reduction at the end of
        # backward; frozen networks are left out (replicated, no gradients)
        fully_shard(module, mesh=self.mesh,
                    reshard_after_forward=reshard_after_forward,
                    ignored_params=frozen)

    def describe(self) -> str:
        """One line for the log: units, sharded and replicated sizes."""
        trained = sum(p.numel() for p in self.module.parameters()
                      if p.requires_grad)
        frozen = sum(p.numel() for p in self.module.parameters()
                     if not p.requires_grad)
        units = ', '.join(self.unit_names[:6]) + (
            f' ... ({len(self.unit_names)})' if len(self.unit_names) > 6
            else '')
        return (f'FullyShardedTrainable over {self.mesh.size()} processes: '
                f'{trained / 1e6:.3f}M trainable parameters sharded in '
                f'{len(self.unit_names) + 1} units (root + [{units}]), '
                f'{frozen / 1e6:.3f}M frozen replicated')

    # ------------------------------------------------------- mmengine steps
    @contextmanager
    def no_sync(self):
        """Accumulate gradients locally (no reduce-scatter) inside."""
        self.module.set_requires_gradient_sync(False)
        try:
            yield
        finally:
            self.module.set_requires_gradient_sync(True)

    # -------------------------------------------------- consolidated states
    @staticmethod
    def gather_full(state, keep: bool = True):
        """``state`` (nested dicts / lists) with every DTensor replaced by
        its full tensor on CPU. A collective: every rank must call it on
        the same structure. ``keep=False`` (other ranks than the writer)
        drops the gathered tensors right away."""
        if is_sharded(state):
            full = state.full_tensor()
            return full.cpu() if keep else None
        if isinstance(state, dict):
            return type(state)((k, FullyShardedTrainable.gather_full(v, keep))
                               for k, v in state.items())
        if isinstance(state, (list, tuple)):
            return type(state)(
                FullyShardedTrainable.gather_full(v, keep) for v in state)
        return state

    def shard_model_state(self, state: Dict) -> Dict:
        """A state dict of full tensors with each entry of a sharded
        parameter cut into this rank's shard (no communication: every rank
        holds the full checkpoint)."""
        params = dict(self.module.named_parameters())
        out = type(state)()
        for key, value in state.items():
            param = params.get(key)
            if param is not None and is_sharded(param) and \
                    not is_sharded(value) and torch.is_tensor(value):
                value = self._shard_like(value, param, key)
            out[key] = value
        if hasattr(state, '_metadata'):
            out._metadata = state._metadata
        return out

    def shard_optimizer_state(self, optim_wrapper, state: Dict) -> Dict:
        """Full-tensor optimizer state (what a DDP run saves, keyed by
        parameter index) cut into this rank's shards, for
        ``optim_wrapper.load_state_dict``."""
        if hasattr(optim_wrapper, 'optim_wrappers'):      # OptimWrapperDict
            return {name: self.shard_optimizer_state(
                optim_wrapper.optim_wrappers[name], sub)
                for name, sub in state.items()}
        optimizer = optim_wrapper.optimizer
        saved_ids = [i for g in state['param_groups'] for i in g['params']]
        params = [p for g in optimizer.param_groups for p in g['params']]
        if len(saved_ids) != len(params):
            raise ValueError(
                f'optimizer state holds {len(saved_ids)} parameters, the '
                f'model trains {len(params)}')
        by_id = dict(zip(saved_ids, params))
        sharded = {}
        for pid, entries in state['state'].items():
            param = by_id.get(pid)
            sharded[pid] = {
                name: self._shard_like(value, param, f'optimizer {name}')
                if param is not None and is_sharded(param)
                and torch.is_tensor(value) and not is_sharded(value)
                and value.shape == param.shape else value
                for name, value in entries.items()}
        return dict(state, state=sharded)

    def _shard_like(self, full: torch.Tensor, param, key: str):
        from torch.distributed.tensor import distribute_tensor
        if tuple(full.shape) != tuple(param.shape):
            raise RuntimeError(
                f'{key}: checkpoint shape {tuple(full.shape)} does not fit '
                f'the model parameter {tuple(param.shape)}')
        return distribute_tensor(
            full.to(device=param.device, dtype=param.dtype),
            param.device_mesh, param.placements, src_data_rank=None)
