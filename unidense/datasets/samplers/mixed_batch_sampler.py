"""Batch samplers that draw every batch from one dataset of a ConcatDataset."""
from typing import Iterator, List, Optional, Sequence

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from unidense.registry import DATA_SAMPLERS


def _concat_sizes(dataset) -> List[int]:
    sizes = getattr(dataset, 'cumulative_sizes', None)
    if sizes is None:
        raise TypeError(f'MixedBatchSampler needs a ConcatDataset (mmengine '
                        f'or torch), got {type(dataset).__name__}')
    return [b - a for a, b in zip([0] + list(sizes[:-1]), sizes)]


@DATA_SAMPLERS.register_module()
class MixedBatchSampler(Sampler):
    """Each batch comes from ONE sub-dataset, chosen with ``prob``.

    Marigold/MERGE train on Hypersim (480x640) and vKITTI (352x1216) with
    probabilities 0.9/0.1; mixing them inside a batch would need padding,
    so a batch never mixes. Per epoch each sub-dataset is shuffled (seeded
    by ``seed + epoch``), split across ranks (``indices[rank::world]``) and
    cut into batches; a sub-dataset that runs out is reshuffled and reused
    (Marigold's behaviour), so the probabilities hold for the whole epoch.
    The dataset choice sequence depends only on seed and epoch, so all
    ranks draw from the same dataset at the same step.

    Built by mmengine's Runner as ``batch_sampler=dict(type=
    'MixedBatchSampler', prob=[0.9, 0.1])``: it receives the ``sampler``
    (whose ``dataset`` must be a ConcatDataset and whose ``set_epoch`` the
    loops call) and ``batch_size``.

    Args:
        sampler: the sampler the Runner built (only its ``dataset`` and
            ``epoch`` are used), or pass ``dataset=`` directly.
        batch_size: samples per batch (per rank).
        prob: one probability per sub-dataset (normalised); ``None`` =
            proportional to size.
        length: batches per epoch per rank; default = total samples of this
            rank // batch_size.
        drop_last: batches from one sub-dataset are always full; kept for
            API compatibility (must be True).
        seed: shared by all ranks (synchronised when ``None``).
    """

    def __init__(self, sampler=None, batch_size: int = 1,
                 prob: Optional[Sequence[float]] = None,
                 length: Optional[int] = None, drop_last: bool = True,
                 seed: Optional[int] = None, dataset=None,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None):
        dataset = dataset if dataset is not None else getattr(
            sampler, 'dataset', None)
        if dataset is None:
            raise ValueError('MixedBatchSampler: give sampler (with a '
                             '.dataset) or dataset')
        if not drop_last:
            raise ValueError('MixedBatchSampler: drop_last must be True '
                             '(each batch comes from one dataset)')
        if batch_size < 1:
            raise ValueError(f'MixedBatchSampler: bad batch_size '
                             f'{batch_size}')
        self.sampler = sampler
        self.dataset = dataset
        self.sizes = _concat_sizes(dataset)
        self.offsets = np.cumsum([0] + self.sizes[:-1]).tolist()
        if prob is None:
            prob = self.sizes
        if len(prob) != len(self.sizes):
            raise ValueError(f'MixedBatchSampler: {len(prob)} probabilities '
                             f'for {len(self.sizes)} datasets')
        prob = np.asarray(prob, np.float64)
        if (prob < 0).any() or prob.sum() <= 0:
            raise ValueError(f'MixedBatchSampler: bad prob {prob.tolist()}')
        self.prob = prob / prob.sum()
        d_rank, d_world = get_dist_info()
        self.rank = d_rank if rank is None else rank
        self.world_size = d_world if world_size is None else world_size
        self.batch_size = int(batch_size)
        for i, (size, p) in enumerate(zip(self.sizes, self.prob)):
            if p > 0 and size // self.world_size < self.batch_size:
                raise ValueError(f'MixedBatchSampler: dataset {i} has {size} '
                                 f'samples, too few for batch_size '
                                 f'{self.batch_size} on {self.world_size} '
                                 f'rank(s)')
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.length = int(length) if length is not None else max(
            1, sum(s // self.world_size for s in self.sizes) //
            self.batch_size)
        self._epoch = 0

    @property
    def epoch(self) -> int:
        return int(getattr(self.sampler, 'epoch', self._epoch))

    def set_epoch(self, epoch: int) -> None:
        self._epoch = epoch
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)

    def _batches_of(self, i: int, rng) -> Iterator[List[int]]:
        """Endless full batches of this rank's share of dataset ``i``."""
        while True:
            perm = rng.permutation(self.sizes[i])[self.rank::self.world_size]
            for s in range(0, len(perm) - self.batch_size + 1,
                           self.batch_size):
                yield [int(self.offsets[i] + j)
                       for j in perm[s:s + self.batch_size]]

    def _iter_batches(self, epoch: int, num_batches: Optional[int]):
        choice_rng = np.random.default_rng([self.seed, epoch, 0])
        streams = [self._batches_of(i, np.random.default_rng(
            [self.seed, epoch, i + 1])) for i in range(len(self.sizes))]
        n = 0
        while num_batches is None or n < num_batches:
            i = int(choice_rng.choice(len(self.sizes), p=self.prob))
            yield next(streams[i])
            n += 1

    def __iter__(self) -> Iterator[List[int]]:
        return self._iter_batches(self.epoch, self.length)

    def __len__(self) -> int:
        return self.length


@DATA_SAMPLERS.register_module()
class InfiniteMixedBatchSampler(MixedBatchSampler):
    """:class:`MixedBatchSampler` that never ends (for IterBasedTrainLoop).

    mmengine's IterBasedTrainLoop restarts a finite dataloader each epoch
    (with a 2 s pause); an endless batch sampler avoids the restart and the
    resampling edge effects. ``__len__`` reports ``length`` (one nominal
    epoch) for logging only.
    """

    def __iter__(self) -> Iterator[List[int]]:
        return self._iter_batches(self.epoch, None)
