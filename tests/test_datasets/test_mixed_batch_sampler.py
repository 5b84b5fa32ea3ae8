"""MixedBatchSampler: one dataset per batch, probabilities, seeds, ranks."""
import numpy as np
import pytest
from mmengine.dataset import ConcatDataset as MMConcatDataset
from mmengine.dataset import DefaultSampler
from torch.utils.data import ConcatDataset, DataLoader, Dataset

from unidense.datasets import InfiniteMixedBatchSampler, MixedBatchSampler
from unidense.registry import DATA_SAMPLERS


class _Range(Dataset):

    def __init__(self, n, tag):
        self.n, self.tag = n, tag
        self.metainfo = dict(tag=tag)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return (self.tag, i)


def _concat(a=90, b=30):
    return ConcatDataset([_Range(a, 0), _Range(b, 1)])


def _origin(ds, idx):
    return int(np.searchsorted(ds.cumulative_sizes, idx, side='right'))


def test_each_batch_from_one_dataset_with_probabilities():
    ds = _concat(200, 200)
    sampler = MixedBatchSampler(dataset=ds, batch_size=4, prob=[0.9, 0.1],
                                seed=0, length=500)
    batches = list(sampler)
    assert len(batches) == 500 == len(sampler)
    origins = [{_origin(ds, i) for i in b} for b in batches]
    assert all(len(o) == 1 for o in origins)
    frac = np.mean([o == {0} for o in origins])
    assert 0.85 < frac < 0.95
    # within one pass over a sub-dataset no index repeats
    first = [i for b in batches if _origin(ds, b[0]) == 1 for i in b][:200]
    assert len(set(first)) == 200


def test_deterministic_by_seed_and_epoch():
    ds = _concat()
    a = MixedBatchSampler(dataset=ds, batch_size=3, prob=[0.5, 0.5], seed=7)
    b = MixedBatchSampler(dataset=ds, batch_size=3, prob=[0.5, 0.5], seed=7)
    c = MixedBatchSampler(dataset=ds, batch_size=3, prob=[0.5, 0.5], seed=8)
    assert list(a) == list(b)
    assert list(a) != list(c)
    e0 = list(a)
    a.set_epoch(1)
    assert list(a) != e0


def test_ranks_draw_disjoint_samples_from_same_dataset():
    ds = _concat(64, 64)
    kw = dict(dataset=ds, batch_size=4, prob=[0.7, 0.3], seed=1,
              world_size=2)
    assert len(MixedBatchSampler(rank=0, **kw)) == 64 // 4  # 64 per rank
    b0 = list(MixedBatchSampler(rank=0, length=60, **kw))
    b1 = list(MixedBatchSampler(rank=1, length=60, **kw))
    for x, y in zip(b0, b1):     # same dataset at the same step
        assert _origin(ds, x[0]) == _origin(ds, y[0])
    # one pass over dataset 0 = its 32-sample share per rank = 8 batches
    pass0 = [i for b in b0 if _origin(ds, b[0]) == 0 for i in b][:32]
    pass1 = [i for b in b1 if _origin(ds, b[0]) == 0 for i in b][:32]
    assert len(pass0) == len(pass1) == 32
    assert set(pass0).isdisjoint(pass1)
    assert set(pass0) | set(pass1) == set(range(64))


def test_mmengine_concat_of_synthetic_scenes():
    from unidense.datasets import SyntheticScenes
    ds = MMConcatDataset([SyntheticScenes(num_samples=6, img_size=8),
                          SyntheticScenes(num_samples=4, img_size=(8, 16))])
    sampler = MixedBatchSampler(dataset=ds, batch_size=2, prob=[0.9, 0.1],
                                seed=0, length=20)
    for batch in sampler:
        shapes = {ds[i]['img'].shape for i in batch}
        assert len(shapes) == 1     # resolutions never mix in a batch


def test_built_like_the_runner_and_used_by_dataloader():
    ds = _concat(20, 8)
    sampler = DefaultSampler(ds, shuffle=True, seed=0)
    batch_sampler = DATA_SAMPLERS.build(
        dict(type='MixedBatchSampler', prob=[0.9, 0.1], seed=0),
        default_args=dict(sampler=sampler, batch_size=2))
    loader = DataLoader(ds, batch_sampler=batch_sampler,
                        collate_fn=lambda x: x)
    batches = list(loader)
    assert len(batches) == (20 + 8) // 2
    assert all(len({tag for tag, _ in b}) == 1 for b in batches)
    # the loop's set_epoch on the wrapped sampler changes the order
    sampler.set_epoch(3)
    assert [list(b) for b in batch_sampler] != [
        [i for i in b] for b in MixedBatchSampler(
            dataset=ds, batch_size=2, prob=[0.9, 0.1], seed=0)]


def test_infinite_variant_and_errors():
    ds = _concat(10, 10)
    it = iter(InfiniteMixedBatchSampler(dataset=ds, batch_size=2,
                                        prob=[0.5, 0.5], seed=0))
    assert len([next(it) for _ in range(100)]) == 100
    with pytest.raises(TypeError, match='ConcatDataset'):
        MixedBatchSampler(dataset=_Range(5, 0), batch_size=1)
    with pytest.raises(ValueError, match='probabilities'):
        MixedBatchSampler(dataset=ds, batch_size=1, prob=[1.0])
    with pytest.raises(ValueError, match='too few'):
        MixedBatchSampler(dataset=_concat(10, 1), batch_size=2,
                          prob=[0.5, 0.5], seed=0)


def _dist_worker(rank, world, port, out_dir):
    import json
    import os

    import torch.distributed as dist
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        # seed=None: the seed is synchronised from rank 0 over gloo
        sampler = MixedBatchSampler(dataset=_concat(40, 40), batch_size=2,
                                    prob=[0.5, 0.5], length=20)
        with open(os.path.join(out_dir, f'{rank}.json'), 'w') as f:
            json.dump(dict(seed=sampler.seed, batches=list(sampler)), f)
    finally:
        dist.destroy_process_group()


@pytest.mark.dist
def test_real_gloo_ranks(tmp_path):
    import json
    import socket

    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    mp.start_processes(_dist_worker, args=(2, port, str(tmp_path)),
                       nprocs=2, join=True, start_method='fork')
    r0 = json.load(open(tmp_path / '0.json'))
    r1 = json.load(open(tmp_path / '1.json'))
    assert r0['seed'] == r1['seed']
    ds = _concat(40, 40)
    for a, b in zip(r0['batches'], r1['batches']):
        assert _origin(ds, a[0]) == _origin(ds, b[0])
        assert not set(a) & set(b)
