"""The top-level ``strategy`` config key: which wrapper trains the model.

``'ddp'`` (default): mmengine's ``MMDistributedDataParallel`` (gloo on CPU).
``'fsdp'`` / ``dict(type='fsdp', reshard_after_forward=..., units=...)``:
:class:`~.fully_sharded.FullyShardedTrainable` (torch FSDP2).
``'deepspeed'`` / ``dict(type='deepspeed', stage=2|3, config=dict(...))``:
:class:`~.deepspeed_trainable.DeepSpeedTrainable` (optional extra).
"""
from typing import Dict, Optional, Union

import torch
import torch.nn as nn

_WRAPPERS = dict(fsdp='unidense.FullyShardedTrainable',
                 deepspeed='unidense.DeepSpeedTrainable')


def strategy_wrapper_cfg(strategy: Optional[Union[str, Dict]]
                         ) -> Optional[Dict]:
    """``model_wrapper_cfg`` for ``strategy``: None for DDP (mmengine's
    default wrapping), else the wrapper's config dict."""
    if strategy is None:
        return None
    cfg = dict(type=strategy) if isinstance(strategy, str) else dict(strategy)
    kind = str(cfg.pop('type', 'ddp')).lower()
    if kind == 'ddp':
        if cfg:
            raise ValueError(f'strategy ddp takes no options, got {cfg}')
        return None
    if kind in _WRAPPERS:
        return dict(type=_WRAPPERS[kind], **cfg)
    raise ValueError(f'unknown strategy {kind!r}: use one of '
                     f"{['ddp'] + sorted(_WRAPPERS)}")


class StepsWrapper(nn.Module):
    """mmengine's ``train_step`` / ``val_step`` / ``test_step`` around a
    wrapped ``module`` (as ``MMDistributedDataParallel`` offers them), for
    the sharding wrappers. The training forward goes through
    :meth:`_trained_forward` (the sharded module, or DeepSpeed's engine)."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def _trained_forward(self):
        return self.module

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper) -> Dict[str, torch.Tensor]:
        with optim_wrapper.optim_context(self):
            data = self.module.data_preprocessor(data, training=True)
            call = self._trained_forward()
            if isinstance(data, dict):
                losses = call(**data, mode='loss')
            elif isinstance(data, (list, tuple)):
                losses = call(*data, mode='loss')
            else:
                raise TypeError('Output of `data_preprocessor` should be '
                                f'list, tuple or dict, but got {type(data)}')
        parsed_loss, log_vars = self.module.parse_losses(losses)
        optim_wrapper.update_params(parsed_loss)
        return log_vars

    def val_step(self, data: Union[dict, tuple, list]) -> list:
        return self.module.val_step(data)

    def test_step(self, data: Union[dict, tuple, list]) -> list:
        return self.module.test_step(data)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)
