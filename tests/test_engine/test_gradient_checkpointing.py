"""Issue 26 item 3 (gradient checkpointing): the switch reaches every
backbone and trainable copy, recomputes in the backward pass, and gives the
gradients of the run without it (1e-6)."""
import os.path as osp

import pytest
import torch
import torch.utils.checkpoint
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from unidense.engine.hooks import enable_gradient_checkpointing
from unidense.registry import DATASETS, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _grads(model, data):
    model.zero_grad(set_to_none=True)
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    return {n: p.grad.clone() for n, p in model.named_parameters()
            if p.grad is not None}


@pytest.mark.parametrize('config, networks', [
    ('merge/pixart_depth_tiny.py', ['backbone.transformer', 'codec.vae']),
    ('merge/flux_depth_tiny.py', ['backbone.transformer', 'codec.vae']),
    ('jointnet/sd21_rgbd_tiny.py',
     ['backbone.unet', 'fusion.branches.depth.unet', 'codec.vae']),
])
def test_same_gradients_with_checkpointing(config, networks, monkeypatch):
    init_default_scope('unidense')
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    # the same timesteps, noise and (FLUX MERGE) VAE posterior sample twice
    cfg.model.train_seed = 0
    model = MODELS.build(cfg.model).train()
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.pipeline = [t for t in dataset_cfg.pipeline
                            if t['type'] != 'RandomFlip']
    dataset = DATASETS.build(dataset_cfg)
    data = pseudo_collate([dataset[i] for i in range(2)])
    plain = _grads(model, data)
    assert plain

    calls = []
    original = torch.utils.checkpoint.checkpoint

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)
    monkeypatch.setattr(torch.utils.checkpoint, 'checkpoint', counting)
    assert enable_gradient_checkpointing(model) == networks
    checkpointed = _grads(model, data)
    assert calls, 'no block was checkpointed'
    assert sorted(checkpointed) == sorted(plain)
    worst = max((checkpointed[k] - plain[k]).abs().max().item()
                for k in plain)
    assert worst <= 1e-6, worst
