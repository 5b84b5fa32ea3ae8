"""Distributed collection: every sample counted once, same numbers as one
process, for a dataset whose size does not divide by the world size."""
import os
import socket
import tempfile

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

NUM_SAMPLES = 5  # odd: the sampler pads rank 1 with a duplicate of sample 0


def _samples():
    rng = np.random.default_rng(0)
    out = []
    for i in range(NUM_SAMPLES):
        gt = torch.from_numpy(rng.uniform(1, 5, (1, 6, 7)))
        pred = gt * (1 + 0.3 * torch.from_numpy(rng.random((1, 6, 7))))
        if i == 3:
            gt[:] = 0  # a skipped sample must stay counted once
        normal = torch.nn.functional.normalize(
            torch.from_numpy(rng.normal(size=(3, 6, 7))), dim=0)
        out.append(dict(
            pred_depth=dict(data=pred), gt_depth=dict(data=gt),
            pred_normal=dict(data=normal),
            gt_normal=dict(data=torch.nn.functional.normalize(
                normal + 0.3, dim=0)),
            pred_sem_seg=dict(data=torch.from_numpy(
                rng.integers(0, 3, (1, 6, 7)))),
            gt_sem_seg=dict(data=torch.from_numpy(
                rng.integers(0, 3, (1, 6, 7)))),
            img_path=f'{i}.png'))
    return out


def _metrics():
    from unidense.registry import METRICS
    return [METRICS.build(dict(type='DepthMetric', preset='marigold_scannet')),
            METRICS.build(dict(type='DepthMetric', prefix='depth_pooled',
                               reduction='pooled')),
            METRICS.build(dict(type='NormalMetric')),
            METRICS.build(dict(type='IoUMetric', num_classes=3))]


def _evaluate(rank, world):
    from mmengine.dataset import DefaultSampler
    samples = _samples()
    sampler = DefaultSampler(list(range(NUM_SAMPLES)), shuffle=False)
    results = {}
    for metric in _metrics():
        for idx in sampler:  # batch size 1, like the test dataloader
            metric.process({}, [samples[idx]])
        results.update(metric.evaluate(NUM_SAMPLES))
    return results


def _worker(rank, world, port, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        torch.save(_evaluate(rank, world),
                   os.path.join(out_dir, f'rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_concatenated_rank_results_equal_single_process():
    """Cheap check: what rank 0 computes from the gathered records."""
    samples = _samples()
    for single, split in zip(_metrics(), _metrics()):
        single.process({}, samples)
        # Rank 0 sees 0, 2, 4; rank 1 sees 1, 3 and the padding copy of 0;
        # mmengine interleaves the parts and truncates to the dataset size.
        part0 = [samples[i] for i in (0, 2, 4)]
        part1 = [samples[i] for i in (1, 3, 0)]
        split.process({}, part0)
        r0 = split.results
        split.results = []
        split.process({}, part1)
        r1 = split.results
        merged = [r for pair in zip(r0, r1) for r in pair][:NUM_SAMPLES]
        assert (split.compute_metrics(merged)
                == single.compute_metrics(single.results))


@pytest.mark.skipif(not dist.is_available(), reason='no torch.distributed')
def test_two_process_gloo_matches_single_process():
    expected = _evaluate(0, 1)
    assert expected['depth/num_images'] == 4
    assert expected['depth/skipped'] == 1
    with tempfile.TemporaryDirectory() as tmp:
        # fork: the workers reuse this process's imports (spawn would
        # re-import torch in each, several seconds on 2 shared cores).
        mp.start_processes(_worker, args=(2, _free_port(), tmp), nprocs=2,
                           join=True, start_method='fork')
        got = [torch.load(os.path.join(tmp, f'rank{r}.pt'),
                          weights_only=False) for r in range(2)]
    for res in got:
        assert res.keys() == expected.keys()
        for key, value in expected.items():
            assert res[key] == value, key
