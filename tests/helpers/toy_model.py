"""A toy regressor, data set and metric that drive the runtime tests.

Registered into the ``unidense`` registries (``force=True`` so that importing
the module twice, by pytest and by a config's ``custom_imports``, is harmless).
The model has a frozen "pretrained" layer (like unidense's frozen diffusion
backbones) and a trainable head; its loss adds ``torch.randn`` noise and the
data set adds ``numpy`` noise, so resume must restore every random state to
reproduce a run exactly.
"""
import time

import numpy as np
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from unidense.registry import DATASETS, METRICS, MODELS


@DATASETS.register_module(force=True)
class ToyRegressionDataset(Dataset):
    """``num_samples`` pairs ``x (4,) float32``, ``y (1,)`` with y = w.x + b.

    Args:
        num_samples (int): Length.
        augment_std (float): Std of numpy noise added to ``x`` per access
            (draws from the global numpy generator, like random transforms).
    """

    metainfo = dict(name='toy')

    def __init__(self, num_samples=16, augment_std=0.0):
        rng = np.random.RandomState(1234)
        self.x = rng.randn(num_samples, 4).astype(np.float32)
        w = np.array([0.5, -1.0, 2.0, 0.25], dtype=np.float32)
        self.y = (self.x @ w + 0.3)[:, None].astype(np.float32)
        self.augment_std = augment_std

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        x = self.x[idx]
        if self.augment_std > 0:
            x = x + self.augment_std * np.random.randn(4).astype(np.float32)
        return dict(inputs=torch.from_numpy(x),
                    target=torch.from_numpy(self.y[idx]),
                    idx=int(idx))


@MODELS.register_module(force=True)
class ToyRegressor(BaseModel):
    """Frozen Linear(4, 4) "backbone" + trainable Linear(4, 1) head.

    Args:
        noise_std (float): Std of ``torch.randn`` noise added to the loss
            target (like diffusion noise).
        iter_sleep (float): Seconds to sleep per training step, so that tests
            can kill a run mid-way.
    """

    def __init__(self, noise_std=0.0, iter_sleep=0.0, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.backbone = nn.Linear(4, 4)
        self.backbone.requires_grad_(False)
        self.head = nn.Linear(4, 1)
        self.noise_std = noise_std
        self.iter_sleep = iter_sleep

    def forward(self, inputs, target=None, idx=None, mode='tensor'):
        x = torch.stack(list(inputs)) if isinstance(inputs, (list, tuple)) \
            else inputs
        pred = self.head(x + 0.1 * self.backbone(x))
        if mode == 'tensor':
            return pred
        y = torch.stack(list(target))
        if mode == 'loss':
            if self.iter_sleep:
                time.sleep(self.iter_sleep)
            if self.noise_std:
                y = y + self.noise_std * torch.randn_like(y)
            return dict(loss=((pred - y)**2).mean())
        return [
            dict(pred=p.detach(), target=t, idx=int(i))
            for p, t, i in zip(pred, y, idx)
        ]


@METRICS.register_module(force=True)
class ToyMSEMetric(BaseMetric):
    """Mean squared error; also reports how many samples and which were
    counted (``count``, ``idx_sum``) so tests can prove none counted twice."""

    default_prefix = 'toy'

    def process(self, data_batch, data_samples):
        for s in data_samples:
            err = float(((s['pred'] - s['target'])**2).sum())
            self.results.append((s['idx'], err))

    def compute_metrics(self, results):
        return dict(
            mse=sum(e for _, e in results) / len(results),
            count=len(results),
            idx_sum=sum(i for i, _ in results))
