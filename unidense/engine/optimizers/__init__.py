from .adamw_8bit import AdamW8bit
from .autocast_optim_wrapper import AutocastOptimWrapper

__all__ = ['AdamW8bit', 'AutocastOptimWrapper']
