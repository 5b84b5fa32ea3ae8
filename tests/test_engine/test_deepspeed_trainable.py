"""``strategy='deepspeed'`` (issue 26 item 1): the message without the
extra, the DeepSpeed config derived from the unidense one, and ZeRO-2 on a
toy model (2 CPU processes, gloo) whose frozen network stays out of the
optimizer partitions, and ZeRO-3's gathering and loading. The tiny MERGE through tools/dist_train.sh (DDP's
weights, kill-and-resume) is in
tests/test_integration/test_merge_dist_and_resume.py."""
import importlib.util
import os
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from tests.helpers.launch import spawn_two_ranks
from unidense.engine.runner.deepspeed_trainable import (DeepSpeedTrainable,
                                                        import_deepspeed)
from unidense.utils.checkpoint_io import remove_checkpoint

needs_deepspeed = pytest.mark.skipif(
    importlib.util.find_spec('deepspeed') is None,
    reason='the optional deepspeed extra is not installed')


def test_missing_deepspeed_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'deepspeed', None)   # import fails
    with pytest.raises(ImportError, match='requirements/deepspeed.txt'):
        import_deepspeed()
    with pytest.raises(ImportError, match="strategy='fsdp'"):
        DeepSpeedTrainable(nn.Linear(2, 2))


def test_remove_checkpoint_takes_the_zero_folder(tmp_path):
    path = tmp_path / 'iter_2.pth'
    path.write_bytes(b'x')
    (tmp_path / 'iter_2.pth.zero').mkdir()
    (tmp_path / 'iter_2.pth.zero' / 'part.pt').write_bytes(b'y')
    remove_checkpoint(str(path))
    assert list(tmp_path.iterdir()) == []


@needs_deepspeed
def test_deepspeed_config_from_the_unidense_config():
    model = nn.Linear(2, 2)
    wrapper = DeepSpeedTrainable(model, stage=3, config=dict(
        zero_optimization=dict(overlap_comm=False), bf16=dict(enabled=True)))
    optim = OptimWrapper(torch.optim.AdamW(model.parameters()),
                         accumulative_counts=4,
                         clip_grad=dict(max_norm=1.0))
    cfg = wrapper.deepspeed_config(optim, micro_batch_size=2)
    assert cfg['train_micro_batch_size_per_gpu'] == 2
    assert cfg['gradient_accumulation_steps'] == 4
    assert cfg['gradient_clipping'] == 1.0
    assert cfg['zero_optimization'] == dict(stage=3, overlap_comm=False)
    assert cfg['bf16'] == dict(enabled=True)
    # no clip_grad: no clipping (DeepSpeed's own default clips at 1.0)
    plain = wrapper.deepspeed_config(
        OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)), 2)
    assert plain['gradient_clipping'] == 0.0
    with pytest.raises(ValueError, match='clips by norm only'):
        wrapper.deepspeed_config(OptimWrapper(
            torch.optim.SGD(model.parameters(), lr=0.1),
            clip_grad=dict(type='value', clip_value=1.0)), 2)
    with pytest.raises(ValueError, match='stage must be 2 or 3'):
        DeepSpeedTrainable(model, stage=1)


def _worker(rank, port, out):
    import torch.distributed as dist
    from mmengine.model import BaseModel
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE='2')
    dist.init_process_group('gloo', rank=rank, world_size=2)

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.frozen = nn.Linear(6, 64).requires_grad_(False)
            self.head = nn.Linear(64, 2)

        def forward(self, inputs, data_samples=None, mode='loss'):
            pred = self.head(torch.tanh(self.frozen(inputs)))
            return dict(loss=(pred - data_samples).pow(2).mean())

    def train(stage):
        torch.manual_seed(0)
        model = Toy()
        reference = Toy()
        reference.load_state_dict(model.state_dict())
        wrapper = DeepSpeedTrainable(model, stage=stage)
        optim = wrapper.initialize(OptimWrapper(torch.optim.SGD(
            [p for p in model.parameters() if p.requires_grad], lr=0.1)),
            micro_batch_size=4)
        ref_optim = OptimWrapper(torch.optim.SGD(
            [p for p in reference.parameters() if p.requires_grad], lr=0.1))
        g = torch.Generator().manual_seed(1)
        for _ in range(3):
            x = torch.randn(8, 6, generator=g)
            y = torch.randn(8, 2, generator=g)
            wrapper.train_step(dict(inputs=x[4 * rank:4 * rank + 4],
                                    data_samples=y[4 * rank:4 * rank + 4]),
                               optim)
            reference.train_step(dict(inputs=x, data_samples=y), ref_optim)
        # full weights (ZeRO-3 gathers them) against one process
        full, ref = wrapper.full_state_dict(), reference.state_dict()
        diff = max((full[k] - ref[k]).abs().max().item()
                   for k in ('head.weight', 'head.bias'))
        return model, wrapper, optim, diff

    # SGD (gradient norms > 1 here), so a clipped or mis-scaled gradient
    # shows; ZeRO-2 partitions only what the optimizer holds: the head
    model, _, optim, diff = train(2)
    results = dict(
        partitioned=sum(sum(t.numel() for t in group)
                        for group in optim.optimizer.bit16_groups),
        head=sum(p.numel() for p in model.head.parameters()),
        diff=diff, lr=optim.get_lr()['lr'])
    # ZeRO-3: the same training; loading full weights inside loading()
    # re-partitions them (what a resumed or fine-tuned run does)
    model, wrapper, optim, results['diff3'] = train(3)
    with wrapper.loading():
        model.head.bias.data.fill_(0.5)
    results['loaded_bias'] = wrapper.full_state_dict()['head.bias'].tolist()
    if rank == 0:
        torch.save(results, out)
    dist.destroy_process_group()


@needs_deepspeed
@pytest.mark.dist
@pytest.mark.timeout(300)
def test_zero_toy_equals_one_process_and_skips_frozen(tmp_path):
    results = spawn_two_ranks(_worker, tmp_path)
    assert results['partitioned'] == results['head'] == 130
    assert results['diff'] <= 1e-6 and results['diff3'] <= 1e-6, results
    assert results['lr'] == [0.1]
    assert results['loaded_bias'] == [0.5, 0.5]
