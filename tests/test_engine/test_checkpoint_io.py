import json
import os
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.model import ExponentialMovingAverage

from unidense.utils.checkpoint_io import (UntrustedCheckpointError,
                                          export_safetensors, file_sha256,
                                          load_checkpoint_safe,
                                          load_safetensors, marker_path,
                                          save_checkpoint_atomic,
                                          write_text_atomic)
from unidense.utils.random_state import get_rng_state, set_rng_state
from unidense.utils.trainable_state import (missing_trainable_keys,
                                            trainable_state_dict)


def _ckpt():
    torch.manual_seed(0)
    return dict(meta=dict(iter=3), state_dict=nn.Linear(3, 2).state_dict())


def test_atomic_save_writes_marker_and_loads(tmp_path):
    path = str(tmp_path / 'a' / 'iter_3.pth')
    ckpt = _ckpt()
    save_checkpoint_atomic(ckpt, path)
    assert osp.isfile(path)
    with open(marker_path(path)) as f:
        info = json.load(f)
    assert info['sha256'] == file_sha256(path)
    # no temp files left behind
    assert sorted(os.listdir(tmp_path / 'a')) == [
        'iter_3.pth', 'iter_3.pth.unidense'
    ]
    loaded = load_checkpoint_safe(path)
    assert loaded['meta']['iter'] == 3
    for k, v in ckpt['state_dict'].items():
        assert torch.equal(loaded['state_dict'][k], v)


def test_failed_write_keeps_previous_file(tmp_path):
    path = str(tmp_path / 'last_checkpoint')
    write_text_atomic(path, 'old')

    class Boom:

        def __reduce__(self):
            raise RuntimeError('boom during pickling')

    save_checkpoint_atomic(_ckpt(), str(tmp_path / 'c.pth'))
    before = file_sha256(str(tmp_path / 'c.pth'))
    with pytest.raises(RuntimeError, match='boom'):
        save_checkpoint_atomic(dict(x=Boom()), str(tmp_path / 'c.pth'))
    assert file_sha256(str(tmp_path / 'c.pth')) == before
    assert open(path).read() == 'old'
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]


def test_foreign_pickle_refused_with_opt_in_hint(tmp_path):
    path = str(tmp_path / 'foreign.pth')
    torch.save(_ckpt(), path)  # written without unidense
    with pytest.raises(UntrustedCheckpointError) as err:
        load_checkpoint_safe(path)
    assert 'foreign.pth' in str(err.value)
    assert '--trust-checkpoint' in str(err.value)
    assert 'trust_checkpoint=True' in str(err.value)
    loaded = load_checkpoint_safe(path, trust_checkpoint=True)
    assert loaded['meta']['iter'] == 3


def test_tampered_checkpoint_refused(tmp_path):
    path = str(tmp_path / 'iter_1.pth')
    save_checkpoint_atomic(_ckpt(), path)
    with open(path, 'ab') as f:
        f.write(b'\0')
    with pytest.raises(UntrustedCheckpointError, match='marker does not'):
        load_checkpoint_safe(path)


def test_safetensors_export_roundtrip(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    state = {f'module.{k}': v for k, v in model.state_dict().items()}
    path = str(tmp_path / 'c.pth')
    save_checkpoint_atomic(dict(state_dict=state, meta={}), path)
    out = export_safetensors(path, str(tmp_path / 'w.safetensors'))
    back = load_safetensors(out)
    assert sorted(back) == sorted(model.state_dict())
    for k, v in model.state_dict().items():
        assert torch.equal(back[k], v)
    # safetensors files load without any trust opt-in
    assert set(load_checkpoint_safe(out)['state_dict']) == set(back)
    with pytest.raises(KeyError, match='ema_state_dict'):
        export_safetensors(path, str(tmp_path / 'e.safetensors'),
                           key='ema_state_dict')


class _Frozen(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.BatchNorm1d(3)
        self.backbone.requires_grad_(False)
        self.head = nn.BatchNorm1d(3)  # trainable: params + its buffers
        self.ema = ExponentialMovingAverage(nn.Linear(3, 3))


def test_trainable_state_dict_drops_frozen_keeps_buffers_and_ema():
    model = _Frozen()
    keys = set(trainable_state_dict(model))
    assert not any(k.startswith('backbone.') for k in keys)
    assert {'head.weight', 'head.bias', 'head.running_mean',
            'head.running_var', 'head.num_batches_tracked'} <= keys
    assert 'ema.module.weight' in keys and 'ema.steps' in keys
    assert missing_trainable_keys(model, ['head.weight']) == sorted(
        keys - {'head.weight'})


def test_rng_state_roundtrip():
    import random

    import numpy as np
    state = get_rng_state()
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(state)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b


def test_load_weights_only_for_plain_tensor_files(tmp_path):
    from unidense.utils.checkpoint_io import load_weights_only
    path = str(tmp_path / 'plain.pth')
    torch.save(dict(w=torch.ones(2)), path)
    assert torch.equal(load_weights_only(path)['w'], torch.ones(2))

    class Evil:

        def __reduce__(self):
            return (os.system, ('echo pwned',))

    bad = str(tmp_path / 'evil.pth')
    torch.save(dict(x=Evil()), bad)
    import pickle
    with pytest.raises(pickle.UnpicklingError):
        load_weights_only(bad)
    with pytest.raises(UntrustedCheckpointError):
        load_checkpoint_safe(bad)


def test_trained_buffers_are_kept_frozen_ones_dropped():
    """BatchNorm without affine parameters and spectral-norm vectors inside
    a trained block are training state; a frozen network's buffers are not
    (the resume of Diff-2-in-1's neck was inexact before this rule)."""
    import torch.nn as nn
    from torch.nn.utils.parametrizations import spectral_norm

    from unidense.utils.trainable_state import trainable_state_keys
    trained = nn.Sequential(nn.BatchNorm2d(4, affine=False),
                            spectral_norm(nn.Conv2d(4, 4, 1)))
    frozen = nn.Sequential(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4))
    frozen.requires_grad_(False)
    model = nn.ModuleDict(dict(trained=trained, frozen=frozen))
    keys = trainable_state_keys(model)
    assert {'trained.0.running_mean', 'trained.0.num_batches_tracked',
            'trained.1.parametrizations.weight.0._u',
            'trained.1.parametrizations.weight.0._v',
            'trained.1.parametrizations.weight.original'} <= keys
    assert not [k for k in keys if k.startswith('frozen.')]


def test_long_key_lists_are_summarised_by_prefix():
    from unidense.utils.trainable_state import summarise_keys
    few = ['fusion.a', 'fusion.b']
    assert summarise_keys(few) == str(few)
    many = [f'backbone.unet.block{i}.weight' for i in range(300)] + \
        ['fusion.conv.weight']
    text = summarise_keys(many)
    assert 'backbone.unet.* (300)' in text and 'fusion.conv.* (1)' in text
    assert '301 in all' in text and 'block299' not in text
