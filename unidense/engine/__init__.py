"""Training engine: loops, hooks, optimizer wrappers, schedulers, runner glue."""
from . import hooks, optimizers, runner, schedulers

__all__ = ['hooks', 'optimizers', 'runner', 'schedulers']
