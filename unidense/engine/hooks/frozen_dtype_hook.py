"""Frozen weights held in bf16 / fp16 while the trainable parts stay fp32."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from unidense.registry import HOOKS

_DTYPES = {'bfloat16': torch.bfloat16, 'bf16': torch.bfloat16,
           'float16': torch.float16, 'fp16': torch.float16}
# optimizer wrappers that run the forward under autocast, so that fp32
# activations meet low-precision frozen weights in matching dtypes
_AUTOCAST_WRAPPERS = ('AmpOptimWrapper', 'AutocastOptimWrapper')


def cast_frozen_parameters(model: torch.nn.Module, dtype) -> int:
    """Cast every floating parameter with ``requires_grad=False`` to
    ``dtype`` in place; returns the bytes saved."""
    saved = 0
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if param.requires_grad or not param.is_floating_point() or \
                    param.dtype == dtype:
                continue
            before = param.numel() * param.element_size()
            param.data = param.data.to(dtype)
            saved += before - param.numel() * param.element_size()
    return saved


@HOOKS.register_module()
class FrozenWeightsDtypeHook(Hook):
    """``custom_hooks = [dict(type='FrozenWeightsDtypeHook', dtype='bf16')]``
    with ``optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16')``:
    before training, the frozen networks (DiT / UNet backbones, VAE, text
    encoders) are held in bf16 or fp16 while the trainable parts
    (converters, JointNet's branch, heads) and their optimizer state stay
    fp32. Halves the memory of the frozen weights (FLUX.1-dev's 12B: 48 ->
    24 GB); autocast runs the mixed network (without it, fp32 activations
    would meet low-precision weights), so the optim wrapper must autocast
    (``AmpOptimWrapper``; on CPU the runner makes it a bf16
    ``AutocastOptimWrapper``).

    Args:
        dtype (str): 'bf16' / 'bfloat16' or 'fp16' / 'float16'.
    """

    priority = 'VERY_HIGH'

    def __init__(self, dtype: str = 'bf16'):
        if dtype not in _DTYPES:
            raise ValueError(f'FrozenWeightsDtypeHook: dtype must be one of '
                             f'{sorted(_DTYPES)}, got {dtype!r}')
        self.dtype = _DTYPES[dtype]

    def before_train(self, runner) -> None:
        wrappers = runner.optim_wrapper
        wrappers = wrappers.values() if hasattr(wrappers, 'values') else \
            [wrappers]
        # (a DeepSpeed run's wrapper autocasts through the config's one)
        names = [type(getattr(w, 'inner', w)).__name__ for w in wrappers]
        if not all(n in _AUTOCAST_WRAPPERS for n in names):
            raise ValueError(
                f'FrozenWeightsDtypeHook: the optim wrapper {names} does not '
                f'autocast, and fp32 activations cannot meet {self.dtype} '
                f"frozen weights; set optim_wrapper.type='AmpOptimWrapper' "
                f"(dtype='bfloat16')")
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        saved = cast_frozen_parameters(model, self.dtype)
        runner.logger.info(f'frozen weights held in {self.dtype}: '
                           f'{saved / 2**20:.1f} MiB saved')
        self._device_type = next(model.parameters()).device.type

    # Validation during training runs outside the optim wrapper's autocast:
    # the model's val_step gets it too (only the model: metrics keep fp32).
    def before_val(self, runner) -> None:
        device_type = getattr(self, '_device_type', None)
        if device_type is None:
            return
        model, dtype = runner.model, self.dtype
        val_step = model.val_step

        def autocast_val_step(data):
            with torch.autocast(device_type, dtype=dtype):
                return val_step(data)

        model.val_step = autocast_val_step

    def after_val(self, runner) -> None:
        if 'val_step' in vars(runner.model):
            del runner.model.val_step
