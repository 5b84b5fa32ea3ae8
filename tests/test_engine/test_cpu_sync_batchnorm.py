"""CPUSyncBatchNorm: 2 gloo processes with half a batch each normalise,
track statistics and back-propagate like one BatchNorm over the whole batch
(what ``sync_bn='torch'`` means, on CPU where torch's SyncBatchNorm
refuses to run)."""
import os
import tempfile

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

from tests.helpers.launch import free_port
from unidense.engine.runner.cpu_sync_batchnorm import (
    CPUSyncBatchNorm, convert_cpu_sync_batchnorm)


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4),
                         nn.ReLU(), nn.Conv2d(4, 2, 1))


def _batch():
    return torch.randn(4, 3, 5, 6, generator=torch.Generator().manual_seed(1))


def _step(net, x):
    """Loss = mean over the local batch; grads of every parameter."""
    net.train()
    out = net(x)
    out.square().mean().backward()
    return out.detach(), {n: p.grad.clone() for n, p in
                          net.named_parameters()}


def _worker(rank, world, port, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        net = convert_cpu_sync_batchnorm(_net())
        x = _batch().chunk(world)[rank]
        out, grads = _step(net, x)
        for g in grads.values():       # what DDP does with the gradients
            dist.all_reduce(g)
            g /= world
        bn = net[1]
        torch.save(dict(out=out, grads=grads, mean=bn.running_mean,
                        var=bn.running_var),
                   os.path.join(out_dir, f'rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


def test_conversion_keeps_parameters_buffers_and_mode():
    net = _net()
    net[1].running_mean.fill_(0.5)
    net.eval()
    conv = convert_cpu_sync_batchnorm(net)
    assert isinstance(conv[1], CPUSyncBatchNorm) and not conv[1].training
    assert conv[1].weight is net[1].weight
    assert torch.equal(conv[1].running_mean, torch.full((4, ), 0.5))
    # one process (no group): exactly BatchNorm
    x = _batch()
    ref = _net()
    ref.train(), conv.train()
    ref[1].running_mean.fill_(0.5)
    assert torch.equal(conv(x), ref(x))


@pytest.mark.skipif(not dist.is_available(), reason='no torch.distributed')
def test_two_processes_equal_one_batchnorm_over_the_whole_batch():
    out, grads = _step(_net(), _batch())
    ref_bn = _net()[1]
    ref_bn.train()
    ref_bn(_net()[0](_batch()))
    with tempfile.TemporaryDirectory() as tmp:
        # spawn: a forked child deadlocks in the OpenMP pool this process
        # has already started
        mp.start_processes(_worker, args=(2, free_port(), tmp), nprocs=2,
                           join=True, start_method='spawn')
        got = [torch.load(os.path.join(tmp, f'rank{r}.pt')) for r in (0, 1)]
    torch.testing.assert_close(torch.cat([g['out'] for g in got]), out,
                               rtol=0, atol=1e-6)
    for name, grad in grads.items():
        for g in got:
            torch.testing.assert_close(g['grads'][name], grad, rtol=0,
                                       atol=1e-6, msg=name)
    for g in got:
        torch.testing.assert_close(g['mean'], ref_bn.running_mean)
        torch.testing.assert_close(g['var'], ref_bn.running_var)
    # plain BatchNorm per process is what it replaces: visibly different
    half, _ = _step(_net(), _batch()[:2])
    assert (half - out[:2]).abs().max() > 1e-2
