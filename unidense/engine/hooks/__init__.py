
from .atomic_checkpoint_hook import AtomicCheckpointHook  # noqa: F401
from .dense_visualization_hook import DenseVisualizationHook  # noqa: F401
from .self_improving_hook import SelfImprovingHook  # noqa: F401
from .gradient_checkpointing_hook import (  # noqa: F401
    GradientCheckpointingHook, enable_gradient_checkpointing)
from .inference_speedups import (  # noqa: F401
    InferenceSpeedupHook, apply_inference_speedups, switch_attention)
from .frozen_dtype_hook import (  # noqa: F401
    FrozenWeightsDtypeHook, cast_frozen_parameters)
