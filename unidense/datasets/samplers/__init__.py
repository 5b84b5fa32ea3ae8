"""Data samplers (DATA_SAMPLERS)."""
from .mixed_batch_sampler import InfiniteMixedBatchSampler, MixedBatchSampler
from .self_improving_sampler import SelfImprovingBatchSampler

__all__ = ['MixedBatchSampler', 'InfiniteMixedBatchSampler',
           'SelfImprovingBatchSampler']
