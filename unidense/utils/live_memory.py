"""Peak tensor memory of a piece of work on any device, CPU included.

``torch.cuda.max_memory_allocated`` exists only on CUDA, and torch's
``MemTracker`` (``torch.distributed._tools``) refuses modules that are
called twice in one step and parameters that do not require gradients -
both are the normal case here (a frozen VAE encodes RGB and depth; frozen
backbones). :class:`LiveTensorMemory` instead watches every tensor an
operator returns (a ``TorchDispatchMode``) and counts each storage once
until it is freed::

    tracker = LiveTensorMemory(resident=[model, optimizer])
    with tracker:
        model.train_step(data, optim_wrapper)
    tracker.peak_bytes       # resident + the most new storage alive at once
    tracker.resident_bytes   # parameters, buffers, gradients, optimizer state

What it does not see: memory outside tensors (the Python heap, allocator
caches and fragmentation, library workspaces), tensors made without an
operator (``torch.from_numpy``), and tensors that existed before and are
not listed in ``resident`` (they are counted if an in-place operator
returns them).
"""
import weakref
from typing import Dict, Iterable, Optional

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

__all__ = ['LiveTensorMemory', 'resident_tensors']


def resident_tensors(obj) -> Iterable[torch.Tensor]:
    """Tensors held by ``obj``: an ``nn.Module`` (parameters, their
    gradients, buffers), an optimizer or mmengine optim wrapper (state),
    a tensor, or a list / dict of these."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, torch.nn.Module):
        for p in obj.parameters():
            yield p
            if p.grad is not None:
                yield p.grad
        yield from obj.buffers()
    elif hasattr(obj, 'optimizer') and hasattr(obj, 'update_params'):
        yield from resident_tensors(obj.optimizer)  # mmengine OptimWrapper
    elif isinstance(obj, torch.optim.Optimizer):
        for state in obj.state.values():
            yield from (v for v in tree_leaves(state)
                        if isinstance(v, torch.Tensor))
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from resident_tensors(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from resident_tensors(v)


class LiveTensorMemory(TorchDispatchMode):
    """Count the bytes of live tensor storages while the mode is active.

    Args:
        resident: objects whose tensors exist already (see
            :func:`resident_tensors`); counted in ``resident_bytes`` and
            never counted twice.
        device (str, optional): count only this device type ('cpu',
            'cuda'); all when ``None``.

    After the ``with`` block: ``peak_bytes`` (resident + the largest amount
    of new storage alive at one time), ``resident_bytes``, ``new_peak_bytes``
    and ``current_bytes`` (resident + new storage still alive).
    """

    def __init__(self, resident=(), device: Optional[str] = None):
        super().__init__()
        self.device = device
        self._live: Dict[int, object] = {}
        self.resident_bytes = 0
        for t in resident_tensors(resident):
            self.resident_bytes += self._add(t, count=False)
        self._new = 0
        self.new_peak_bytes = 0

    @property
    def current_bytes(self) -> int:
        return self.resident_bytes + self._new

    @property
    def peak_bytes(self) -> int:
        return self.resident_bytes + self.new_peak_bytes

    def _add(self, t: torch.Tensor, count: bool = True) -> int:
        """Register ``t``'s storage; returns its bytes if it was new."""
        if self.device is not None and t.device.type != self.device:
            return 0
        try:
            storage = t.untyped_storage()
        except (RuntimeError, NotImplementedError):
            return 0  # sparse / meta-like tensors own no plain storage
        key = storage._cdata
        if key in self._live:
            return 0
        size = int(storage.nbytes())
        if count:
            self._live[key] = weakref.ref(
                storage, lambda _ref, key=key, size=size: self._free(
                    key, size))
            self._new += size
            self.new_peak_bytes = max(self.new_peak_bytes, self._new)
        else:  # resident storage: never freed from the count
            self._live[key] = None
        return size

    def _free(self, key: int, size: int) -> None:
        if self._live.pop(key, None) is not None:
            self._new -= size

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self._add(t)
        return out
