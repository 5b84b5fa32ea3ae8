"""Reading maps out of the sample dicts that mmengine's Evaluator hands to a
metric (interfaces.md section 2), with errors that name the sample.

Field names, dtypes and the label ignore index are those of the one
sample-field table, :mod:`unidense.structures.sample_fields`."""
from typing import Optional

import numpy as np
import torch
from mmengine.logging import print_log


def as_sample_dict(sample) -> dict:
    """Accept a DenseDataSample as well as its ``to_dict()`` form."""
    if hasattr(sample, 'to_dict') and not isinstance(sample, dict):
        return sample.to_dict()
    return sample


def sample_name(sample: dict) -> str:
    return str(sample.get('img_path', '<sample without img_path>'))


def get_map(sample: dict, field: str, required: bool = True,
            metric: str = 'metric') -> Optional[np.ndarray]:
    """Return ``sample[field]['data']`` as a numpy array (C, H, W).

    Low-precision floats are widened to float64; integer and bool maps keep
    their dtype. Raises ``KeyError`` naming the field and image when a
    required field is missing.
    """
    value = sample.get(field)
    if value is None:
        if required:
            raise KeyError(f'{metric}: sample {sample_name(sample)} has no '
                           f'{field!r}; present keys: {sorted(sample)}')
        return None
    data = value['data'] if isinstance(value, dict) else getattr(
        value, 'data', value)
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu()
        if data.dtype in (torch.float16, torch.bfloat16):
            data = data.float()
        # numpy's float32 -> float64 cast (below) is several times faster
        # than torch's ``.double()`` for whole images
        data = data.numpy()
    data = np.asarray(data)
    if data.dtype.kind == 'f':
        data = data.astype(np.float64, copy=False)
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise ValueError(f'{metric}: {field} of {sample_name(sample)} must be '
                         f'(C, H, W), got shape {data.shape}')
    return data


def check_same_hw(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str,
                  sample: dict, metric: str):
    if a.shape[-2:] != b.shape[-2:]:
        raise ValueError(
            f'{metric}: {name_a} shape {tuple(a.shape)} does not match '
            f'{name_b} shape {tuple(b.shape)} for {sample_name(sample)}; '
            f'predictions must be restored to ori_shape '
            f'(unidense.structures.restore_to_original)')


class WarnOnce:
    """Log each kind of warning once per metric instance, and count it."""

    def __init__(self, owner: str):
        self.owner = owner
        self.counts = {}

    def __call__(self, kind: str, message: str):
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.counts[kind] == 1:
            print_log(f'{self.owner}: {message} (further cases of this kind '
                      f'are counted, not logged)', logger='current',
                      level=30)
