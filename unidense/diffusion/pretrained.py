"""Shared machinery of the diffusers / transformers factories.

Three ways to build a part, decided per call:

* ``from_pretrained=<hub id or folder>`` - the published weights. When the
  environment says ``HF_HUB_OFFLINE=1`` only the local cache is looked at and a
  miss becomes :class:`PretrainedNotFoundError`.
* ``config=<dict | config.json | folder>`` - random init of that architecture.
* inside :func:`meta_device_build` - the architecture from ``config`` on the
  meta device: no weights are allocated or read, nothing touches the network.
"""
import contextlib
import json
import os
import os.path as osp
import threading

import torch

_STATE = threading.local()

_DTYPES = {
    'float16': torch.float16, 'fp16': torch.float16, 'half': torch.float16,
    'bfloat16': torch.bfloat16, 'bf16': torch.bfloat16,
    'float32': torch.float32, 'fp32': torch.float32, 'float': torch.float32,
}


class PretrainedNotFoundError(OSError):
    """A pretrained part could not be loaded (offline miss, bad folder)."""


def is_meta_build():
    """True inside :func:`meta_device_build`."""
    return getattr(_STATE, 'meta_depth', 0) > 0


@contextlib.contextmanager
def meta_device_build(device='meta'):
    """Build every unidense diffusion part from ``config`` on the meta device.

    Inside the context, factories ignore ``from_pretrained`` and need
    ``config``; every tensor created (also by non-diffusion modules built in
    the same ``MODELS.build`` call) lives on ``torch.device('meta')``, so a
    12B-parameter FLUX transformer costs no memory. Used by
    ``tools/analysis_tools/count_params.py --device meta``.

    ``device='cuda'`` builds the same architecture with random weights
    straight on the GPU (no published weights needed): what
    ``tools/analysis_tools/gpu_report.py`` measures full-size memory and
    speed on.
    """
    _STATE.meta_depth = getattr(_STATE, 'meta_depth', 0) + 1
    try:
        with torch.device(device):
            yield
    finally:
        _STATE.meta_depth -= 1


def hub_offline():
    """Whether the Hugging Face hub is off limits (read at call time)."""
    value = os.environ.get('HF_HUB_OFFLINE', '') or os.environ.get(
        'TRANSFORMERS_OFFLINE', '')
    return value.strip().upper() in ('1', 'ON', 'YES', 'TRUE')


def resolve_dtype(torch_dtype):
    """``'float16'``/``'bf16'``/``torch.float32``/None -> dtype or None."""
    if torch_dtype is None or isinstance(torch_dtype, torch.dtype):
        return torch_dtype
    key = str(torch_dtype).replace('torch.', '').lower()
    if key not in _DTYPES:
        raise ValueError(f'torch_dtype={torch_dtype!r} is not one of '
                         f'{sorted(_DTYPES)}')
    return _DTYPES[key]


def load_config_dict(config, subfolder=None, what='config'):
    """``config`` as dict | path to a config.json | a folder holding one.

    Returns a fresh dict (the caller may update it).
    """
    if config is None:
        return None
    if isinstance(config, dict):
        return dict(config)
    if hasattr(config, 'to_dict'):  # a diffusers FrozenDict / HF config
        return dict(config.to_dict() if callable(config.to_dict) else config)
    path = str(config)
    if osp.isdir(path):
        if subfolder:
            path = osp.join(path, subfolder)
        path = osp.join(path, 'config.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what}: no config file at {path!r} (give a '
                                'dict, a config.json path or a folder that '
                                'holds config.json)')
    with open(path) as f:
        return json.load(f)


def clean_config(cfg):
    """Drop bookkeeping keys that diffusers/transformers put in config.json."""
    return {k: v for k, v in cfg.items()
            if not k.startswith('_') and k not in ('transformers_version',
                                                  'architectures')}


def not_found_message(name, subfolder, exc=None):
    where = f'{name}/{subfolder}' if subfolder else f'{name}'
    if osp.isdir(str(name)):
        msg = (f'could not load {where}: the local folder has no loadable '
               'weights/config there')
    elif hub_offline():
        msg = (f'could not load {where}: not in the local cache and the '
               'network is off; download it with `huggingface-cli download '
               f'{name}` or set from_pretrained to a local folder')
    else:
        msg = (f'could not load {where} from the Hugging Face hub; download '
               f'it with `huggingface-cli download {name}` or set '
               'from_pretrained to a local folder')
    if exc is not None:
        msg += f' ({type(exc).__name__}: {str(exc).splitlines()[0][:300]})'
    return msg


def call_from_pretrained(loader, name, subfolder=None, **kwargs):
    """Call ``loader(name, subfolder=..., **kwargs)`` with offline handling.

    ``local_files_only`` is passed when ``HF_HUB_OFFLINE`` is set; any
    loading error (hub miss, missing file in a folder) is re-raised as
    :class:`PretrainedNotFoundError` naming the id and subfolder.
    """
    if hub_offline():
        kwargs.setdefault('local_files_only', True)
    if subfolder:
        kwargs['subfolder'] = subfolder
    try:
        return loader(str(name), **kwargs)
    except PretrainedNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        # huggingface_hub's errors derive from OSError/ValueError; a wrong
        # hub id offline also ends here.
        raise PretrainedNotFoundError(
            not_found_message(name, subfolder, exc)) from exc
