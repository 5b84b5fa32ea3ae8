from .base_dense_head import BaseDenseHead  # noqa: F401
