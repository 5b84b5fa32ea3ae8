"""Capture and restore the global random state (python, numpy, torch, CUDA).

Saved in training checkpoints so that a resumed run draws exactly the random
numbers (noise, timesteps, augmentations) the uninterrupted run would have.
Values are plain ints/lists and uint8/int64 tensors so that the checkpoint
still loads with ``torch.load(weights_only=True)``.
"""
import random
from typing import Dict

import numpy as np
import torch


def get_rng_state() -> Dict:
    """Return the current random state of every generator in use."""
    py_version, py_state, py_gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state = dict(
        python=dict(version=py_version, state=list(py_state),
                    gauss=py_gauss),
        numpy=dict(name=np_name, keys=torch.from_numpy(
            np_keys.astype(np.int64)), pos=int(np_pos),
                   has_gauss=int(np_has_gauss), gauss=float(np_gauss)),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    py = state['python']
    random.setstate((py['version'], tuple(py['state']), py['gauss']))
    nps = state['numpy']
    np.random.set_state((nps['name'], nps['keys'].numpy().astype(np.uint32),
                         nps['pos'], nps['has_gauss'], nps['gauss']))
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])
