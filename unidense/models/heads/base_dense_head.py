"""The contract every dense prediction head follows (mmseg decode-head style)."""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from unidense.registry import MODELS
from unidense.structures.dense_data_sample import stack_pixel_field

Features = Union[torch.Tensor, Sequence[torch.Tensor]]


class BaseDenseHead(BaseModule, metaclass=ABCMeta):
    """Features -> dense maps, with the head's own losses.

    A head sees plain tensors only: the multi-scale feature list a neck
    produced, ``[(B, C_i, H_i, W_i), ...]`` finest first (or one tensor),
    and the batch's :class:`~unidense.structures.DenseDataSample` list for
    targets. Three entry points, as mmseg's ``BaseDecodeHead``:

    * ``forward(feats)`` -> ``dict[str, Tensor]`` of raw outputs at the
      head's own resolution, e.g. ``{'depth': (B, 1, h, w)}`` or
      ``{'normal': (B, 3, h, w), 'kappa': (B, 1, h, w)}``; every key is
      documented by the subclass.
    * ``loss(feats, data_samples)`` -> ``dict[str, Tensor]`` of scalar
      losses (``'loss_*'`` keys, already weighted), via
      :meth:`loss_by_feat`.
    * ``predict(feats, data_samples)`` -> ``dict[str, Tensor]`` of outputs
      resized to the padded input size (``batch_input_shape`` of the first
      sample, or ``img_shape``) and post-processed (unit normals, class
      ids), via :meth:`predict_by_feat`. The estimator crops padding and
      restores the original size.

    Losses are built from config by the head itself (``losses=dict(...)``
    or a list of them), so a new loss is a new config line, not new code.
    Each built loss is called as ``loss(pred, target, valid_mask)`` by the
    subclass's :meth:`loss_by_feat`.

    Args:
        tasks (str | Sequence[str]): the maps this head predicts, e.g.
            ``'depth'`` or ``('semseg', 'depth', 'normal')``.
        losses (dict | list[dict] | None): MODELS configs of the losses.
        align_corners (bool): for every bilinear resize the head does.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 tasks: Union[str, Sequence[str]],
                 losses: Union[dict, List[dict], None] = None,
                 align_corners: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.tasks = (tasks, ) if isinstance(tasks, str) else tuple(tasks)
        if not self.tasks:
            raise ValueError(f'{type(self).__name__}: `tasks` is empty')
        self.align_corners = align_corners
        if losses is None:
            losses = []
        elif isinstance(losses, dict):
            losses = [losses]
        self.losses = nn.ModuleList(
            MODELS.build(cfg) if isinstance(cfg, dict) else cfg
            for cfg in losses)

    @abstractmethod
    def forward(self, feats: Features) -> Dict[str, torch.Tensor]:
        """Raw outputs at the head's resolution (see the class doc)."""

    @abstractmethod
    def loss_by_feat(self, outputs: Dict[str, torch.Tensor],
                     data_samples: Sequence) -> Dict[str, torch.Tensor]:
        """Scalar losses from :meth:`forward`'s outputs and the targets."""

    def predict_by_feat(self, outputs: Dict[str, torch.Tensor],
                        data_samples: Sequence) -> Dict[str, torch.Tensor]:
        """Resize every output to the padded input size (bilinear).

        Subclasses add their post-processing (normalise normals, argmax).
        """
        size = self.input_size(data_samples)
        return {
            key: self.resize(value, size)
            for key, value in outputs.items()
        }

    def loss(self, feats: Features,
             data_samples: Sequence) -> Dict[str, torch.Tensor]:
        return self.loss_by_feat(self.forward(feats), data_samples)

    def predict(self, feats: Features,
                data_samples: Sequence) -> Dict[str, torch.Tensor]:
        return self.predict_by_feat(self.forward(feats), data_samples)

    # -- helpers for subclasses ----------------------------------------------
    def resize(self, x: torch.Tensor, size) -> torch.Tensor:
        """Bilinear resize of (B, C, h, w) to ``size`` (no-op when equal)."""
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        return nn.functional.interpolate(
            x, size=tuple(size), mode='bilinear',
            align_corners=self.align_corners)

    @staticmethod
    def input_size(data_samples: Sequence):
        """(H, W) the batch was fed at: ``batch_input_shape`` if the data
        preprocessor set it, else the first sample's ``img_shape``."""
        if not data_samples:
            raise ValueError('BaseDenseHead: no data_samples to take the '
                             'input size from')
        meta = data_samples[0].metainfo
        for key in ('batch_input_shape', 'img_shape'):
            if key in meta:
                return tuple(meta[key][:2])
        raise KeyError('BaseDenseHead: data_samples carry neither '
                       '`batch_input_shape` nor `img_shape`')

    @staticmethod
    def stack_targets(data_samples: Sequence, name: str) -> torch.Tensor:
        """(B, C, H, W) stack of the ``name`` pixel field of every sample
        (e.g. ``'gt_depth'``); a clear error names the missing field (or,
        from :func:`~unidense.structures.stack_pixel_field`, a batch where
        only some samples have it)."""
        target = stack_pixel_field(data_samples, name)
        if target is None:
            raise KeyError(f'BaseDenseHead: data_samples have no `{name}`')
        return target
