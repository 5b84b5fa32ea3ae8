"""The top-level ``strategy`` config key: which wrapper trains the model.

``'ddp'`` (default): mmengine's ``MMDistributedDataParallel`` (gloo on CPU).
``'fsdp'`` / ``dict(type='fsdp', reshard_after_forward=..., units=...)``:
:class:`~.fully_sharded.FullyShardedTrainable` (torch FSDP2).
``'deepspeed'`` / ``dict(type='deepspeed', stage=2|3, config=dict(...))``:
:class:`~.deepspeed_trainable.DeepSpeedTrainable` (optional extra).
"""
from typing import Dict, Optional, Union

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
