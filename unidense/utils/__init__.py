"""Runtime utilities: safe checkpoint I/O, random state, CPU distributed."""
from .checkpoint_io import (UntrustedCheckpointError, export_safetensors,
                            extract_state_dict, load_checkpoint_safe,
                            load_safetensors, load_weights_only,
                            save_checkpoint_atomic,
                            write_text_atomic)
from .random_state import get_rng_state, set_rng_state
from .trainable_state import trainable_state_dict, trainable_state_keys

__all__ = [
    'UntrustedCheckpointError', 'export_safetensors', 'extract_state_dict',
    'load_checkpoint_safe', 'load_safetensors', 'load_weights_only',
    'save_checkpoint_atomic',
    'write_text_atomic', 'get_rng_state', 'set_rng_state',
    'trainable_state_dict', 'trainable_state_keys'
]
