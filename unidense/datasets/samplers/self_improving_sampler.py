"""The batch sampler of Diff-2-in-1's two-stage training."""
from typing import Iterator, List, Optional

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from unidense.registry import DATA_SAMPLERS
from .mixed_batch_sampler import _concat_sizes


@DATA_SAMPLERS.register_module()
class SelfImprovingBatchSampler(Sampler):
    """Labelled batches during warm-up, then batches of everything.

    The dataset is a ConcatDataset whose first ``num_labelled`` sub-datasets
    are labelled (e.g. NYUv2) and the rest unlabelled synthetic images
    (``tools/create_synthetic.py``). Batches ``0 .. warmup_iters - 1``
    (stage 1, Eq. 6) are drawn from the labelled part only; later batches
    (stage 2, Eq. 7) from the whole merged set, shuffled together as the
    released code does (1:1 real / synthetic in expectation when both have
    the same size). Each stream reshuffles on every pass (seeded by
    ``seed`` and the pass number) and splits across ranks
    (``perm[rank::world]``). Endless: for ``IterBasedTrainLoop``, whose
    resume advances the iterator by the finished iterations, so the stage
    of every batch depends only on its index.

    Args:
        sampler: the sampler the Runner built (its ``dataset`` is used).
        batch_size: per rank.
        warmup_iters: stage-1 iterations (the hook's ``warmup_iters``).
        num_labelled: leading sub-datasets that are labelled.
        seed: shared by all ranks (synchronised when None).
    """

    def __init__(self, sampler=None, batch_size: int = 1,
                 warmup_iters: int = 0, num_labelled: int = 1,
                 seed: Optional[int] = None, dataset=None,
                 drop_last: bool = True, rank: Optional[int] = None,
                 world_size: Optional[int] = None):
        dataset = dataset if dataset is not None else getattr(
            sampler, 'dataset', None)
        if dataset is None:
            raise ValueError('SelfImprovingBatchSampler: give sampler (with '
                             'a .dataset) or dataset')
        sizes = _concat_sizes(dataset)
        if not 0 < num_labelled < len(sizes) + 1:
            raise ValueError(f'SelfImprovingBatchSampler: num_labelled='
                             f'{num_labelled} of {len(sizes)} datasets')
        self.sampler = sampler
        self.labelled = int(sum(sizes[:num_labelled]))
        self.total = int(sum(sizes))
        self.warmup_iters = int(warmup_iters)
        self.batch_size = int(batch_size)
        d_rank, d_world = get_dist_info()
        self.rank = d_rank if rank is None else rank
        self.world_size = d_world if world_size is None else world_size
        if self.labelled // self.world_size < self.batch_size:
            raise ValueError(f'SelfImprovingBatchSampler: {self.labelled} '
                             f'labelled samples are too few for batch_size '
                             f'{self.batch_size} on {self.world_size} rank(s)')
        if self.total == self.labelled:
            raise ValueError('SelfImprovingBatchSampler: the unlabelled '
                             'datasets are empty (run tools/create_synthetic'
                             '.py first)')
        self.seed = sync_random_seed() if seed is None else int(seed)

    def _stream(self, size: int, which: int) -> Iterator[List[int]]:
        n = 0
        while True:
            rng = np.random.default_rng([self.seed, which, n])
            perm = rng.permutation(size)[self.rank::self.world_size]
            for s in range(0, len(perm) - self.batch_size + 1,
                           self.batch_size):
                yield [int(i) for i in perm[s:s + self.batch_size]]
            n += 1

    def __iter__(self) -> Iterator[List[int]]:
        warm = self._stream(self.labelled, 0)
        both = self._stream(self.total, 1)
        index = 0
        while True:
            yield next(warm if index < self.warmup_iters else both)
            index += 1

    def __len__(self) -> int:   # one nominal epoch, for logging
        return max(1, self.total // self.world_size // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)
