"""AdamW8bit (issue 26 item 3): an optional extra with clear messages when
bitsandbytes or a GPU is missing, and bitsandbytes' optimizer otherwise."""
import sys
import types

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope


def _build():
    init_default_scope('unidense')
    net = torch.nn.Linear(4, 4)
    return build_optim_wrapper(net, dict(optimizer=dict(type='AdamW8bit',
                                                        lr=1e-3)))


def test_missing_bitsandbytes_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'bitsandbytes', None)  # import fails
    with pytest.raises(ImportError, match='requirements/bnb.txt'):
        _build()


def test_needs_a_gpu_then_builds_bitsandbytes_optimizer(monkeypatch):
    made = []

    class FakeAdamW8bit(torch.optim.AdamW):

        def __init__(self, params, **kwargs):
            made.append(kwargs)
            super().__init__(params, **kwargs)
    fake = types.ModuleType('bitsandbytes')
    fake.optim = types.SimpleNamespace(AdamW8bit=FakeAdamW8bit)
    monkeypatch.setitem(sys.modules, 'bitsandbytes', fake)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(RuntimeError, match='CUDA GPU'):
        _build()
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    wrapper = _build()
    assert isinstance(wrapper.optimizer, FakeAdamW8bit)
    assert made[0]['lr'] == 1e-3 and made[0]['weight_decay'] == 1e-2
