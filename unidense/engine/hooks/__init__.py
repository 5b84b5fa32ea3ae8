
from .atomic_checkpoint_hook import AtomicCheckpointHook  # noqa: F401
