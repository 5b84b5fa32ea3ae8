"""High-level inference API (see docs/user_guides/inference.md)."""
from .inference import (TASK_FIELDS, DenseMap, generate, inference_dense,
                        init_model, model_options, panorama)
from .inputs import ImageInput, load_inputs

__all__ = ['TASK_FIELDS', 'DenseMap', 'generate', 'inference_dense',
           'init_model', 'model_options', 'panorama', 'ImageInput',
           'load_inputs']
