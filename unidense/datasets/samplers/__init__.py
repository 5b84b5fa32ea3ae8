"""Data samplers (DATA_SAMPLERS)."""
from .mixed_batch_sampler import InfiniteMixedBatchSampler, MixedBatchSampler

__all__ = ['MixedBatchSampler', 'InfiniteMixedBatchSampler']
