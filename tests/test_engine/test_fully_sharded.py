"""``strategy='fsdp'`` (issue 26 item 1): FullyShardedTrainable on a toy
model with a frozen network and trainable blocks, 2 CPU processes (gloo).

The tiny MERGE through tools/dist_train.sh (DDP's weights, consolidated
checkpoints, kill-and-resume) is in
tests/test_integration/test_merge_dist_and_resume.py.
"""
import copy
import functools
import os

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper

from tests.helpers.launch import spawn_two_ranks
from unidense.engine.runner.fully_sharded import (FullyShardedTrainable,
                                                  trainable_units)
from unidense.engine.runner.strategies import strategy_wrapper_cfg


class _Toy(BaseModel):
    """Frozen 'backbone', trainable head with a block list and a loose
    trainable parameter on the root (the root unit's share)."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(6, 8).requires_grad_(False)
        self.head = nn.ModuleDict(dict(
            blocks=nn.ModuleList([nn.Linear(8, 8), nn.Linear(8, 8)]),
            out=nn.Linear(8, 2)))
        self.scale = nn.Parameter(torch.ones(2))

    def forward(self, inputs, data_samples=None, mode='loss'):
        x = self.backbone(inputs)
        for block in self.head['blocks']:
            x = x + torch.tanh(block(x))
        pred = self.head['out'](x) * self.scale
        if mode == 'loss':
            return dict(loss=(pred - data_samples).pow(2).mean())
        return pred


def _data(seed, n):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=g), torch.randn(n, 2, generator=g)


def _trainable(model):
    return {k: v for k, v in model.state_dict().items()
            if not k.startswith('backbone')}


def _worker(rank, port, out, units='modules'):
    import torch.distributed as dist
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    torch.manual_seed(0)
    model = _Toy()
    reference = copy.deepcopy(model)       # one process, the whole batch
    ref_opt = OptimWrapper(torch.optim.AdamW(
        [p for p in reference.parameters() if p.requires_grad], lr=1e-2))
    wrapped = FullyShardedTrainable(model, units=units)
    opt = OptimWrapper(torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-2),
        accumulative_counts=2)
    results = dict(units=wrapped.unit_names,
                   backbone_sharded=any(
                       type(p) is not nn.Parameter
                       for p in model.backbone.parameters()))
    for step in range(3):
        x, y = _data(step, 8)
        reference.train_step(dict(inputs=x, data_samples=y), ref_opt)
        # each rank: its half of the batch in two accumulated micro-batches
        half = slice(4 * rank, 4 * rank + 4)
        for micro in (slice(0, 2), slice(2, 4)):
            wrapped.train_step(dict(inputs=x[half][micro],
                                    data_samples=y[half][micro]), opt)
    full = wrapped.gather_full(_trainable(model))
    results['weight_diff'] = max(
        (full[k] - v).abs().max().item()
        for k, v in _trainable(reference).items())
    # consolidated optimizer state == the one-process optimizer's
    opt_full = wrapped.gather_full(opt.state_dict())
    ref_state = ref_opt.state_dict()['state']
    results['optim_diff'] = max(
        (opt_full['state'][i][n].float() - v.float()).abs().max().item()
        for i in ref_state for n, v in ref_state[i].items())
    # full tensors cut into shards again load into a fresh sharded model
    torch.manual_seed(1)
    fresh = _Toy()
    # frozen weights come from the config build (pretrained), not the file
    fresh.backbone.load_state_dict(model.backbone.state_dict())
    fresh_wrapped = FullyShardedTrainable(fresh, units=units)
    fresh_opt = OptimWrapper(torch.optim.AdamW(
        [p for p in fresh.parameters() if p.requires_grad], lr=1e-2))
    fresh.load_state_dict(fresh_wrapped.shard_model_state(full),
                          strict=False)
    # (a copy: torch's load_state_dict keeps the 'step' tensors it is given,
    # which gather_full passes through from the live optimizer)
    fresh_opt.load_state_dict(fresh_wrapped.shard_optimizer_state(
        fresh_opt, copy.deepcopy(opt_full)))
    again = fresh_wrapped.gather_full(_trainable(fresh))
    results['reload_diff'] = max((again[k] - full[k]).abs().max().item()
                                 for k in full)
    x, y = _data(9, 8)
    half = slice(4 * rank, 4 * rank + 4)
    for w, o in ((wrapped, OptimWrapper(opt.optimizer)),
                 (fresh_wrapped, fresh_opt)):
        w.train_step(dict(inputs=x[half], data_samples=y[half]), o)
    a = wrapped.gather_full(_trainable(model))
    b = fresh_wrapped.gather_full(_trainable(fresh))
    results['step_after_reload_diff'] = max(
        (a[k] - b[k]).abs().max().item() for k in a)
    with pytest.raises(RuntimeError, match='does not fit'):
        fresh_wrapped.shard_model_state(
            {'head.out.weight': torch.zeros(3, 8)})
    if rank == 0:
        torch.save(results, out)
    dist.destroy_process_group()


@pytest.mark.dist
@pytest.mark.timeout(300)
@pytest.mark.parametrize('units', ['modules', 'model'])
def test_fsdp_toy_equals_one_process_and_round_trips(tmp_path, units):
    results = spawn_two_ranks(functools.partial(_worker, units=units),
                              tmp_path)
    assert results['units'] == ([] if units == 'model' else [
        'head.blocks.0', 'head.blocks.1', 'head.out'])
    assert not results['backbone_sharded']
    # 2 ranks x 2 accumulated micro-batches of 2 == one batch of 8
    assert results['weight_diff'] <= 1e-6, results
    assert results['optim_diff'] <= 1e-6, results
    assert results['reload_diff'] == 0.0, results
    assert results['step_after_reload_diff'] == 0.0, results


def test_trainable_units_skip_frozen_and_mixed_modules():
    model = _Toy()
    assert [n for n, _ in trainable_units(model)] == [
        'head.blocks.0', 'head.blocks.1', 'head.out']
    model.head['blocks'][1].requires_grad_(False)
    # head is mixed now: its trainable parts become units one by one
    assert [n for n, _ in trainable_units(model)] == [
        'head.blocks.0', 'head.out']


def test_strategy_key():
    assert strategy_wrapper_cfg(None) is None
    assert strategy_wrapper_cfg('ddp') is None
    assert strategy_wrapper_cfg('FSDP') == dict(
        type='unidense.FullyShardedTrainable')
    assert strategy_wrapper_cfg(dict(
        type='fsdp', reshard_after_forward=False)) == dict(
            type='unidense.FullyShardedTrainable',
            reshard_after_forward=False)
    with pytest.raises(ValueError, match="unknown strategy 'colossal'"):
        strategy_wrapper_cfg('colossal')
    assert strategy_wrapper_cfg(dict(type='DeepSpeed', stage=3)) == dict(
        type='unidense.DeepSpeedTrainable', stage=3)
    with pytest.raises(ValueError, match='ddp takes no options'):
        strategy_wrapper_cfg(dict(type='ddp', units='model'))


def test_fsdp_without_process_group_says_how_to_launch():
    with pytest.raises(RuntimeError, match='dist_train.sh'):
        FullyShardedTrainable(_Toy())
