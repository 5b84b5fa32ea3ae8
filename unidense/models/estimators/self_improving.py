"""SelfImprovingEstimator: Diff-2-in-1's two-stage self-improving training
(Zheng et al., ICLR 2025, §4, Eq. 6-8) around any dense estimator.

Two copies of the *trainable* parts of one estimator:

* θ_E, the exploitation copy: the estimator's own parameters, trained by
  the optimizer (stage 1 warm-up on labelled data, Eq. 6; stage 2 on
  labelled + synthetic data, Eq. 7);
* θ_C, the creation copy: buffers of this wrapper (``creation.*`` in the
  state dict, so checkpoints hold both), initialised from θ_E when stage 2
  starts and moved towards it by EMA (Eq. 8,
  ``θ_C <- α θ_C + (1 - α) θ_E``, every K iterations; see
  :class:`~unidense.engine.hooks.SelfImprovingHook`).

The frozen networks (VAE, UNet / DiT, text encoder) exist once: θ_C runs
through ``torch.func.functional_call`` on the same estimator with its
tensors substituted, so memory grows by the trainable parts only.

A batch may mix labelled samples and *unlabelled* ones (metainfo
``unlabelled=True``: the pre-synthesised images of
``tools/create_synthetic.py`` read by ``ImageCaptionDataset(unlabelled=
True)``; a sample without ground truth is not enough, JointNet labels its
real images online). In stage 2 θ_C predicts the unlabelled samples
(eval mode, no gradients, on the augmented network input) and its
predictions become their ground truth - the same fields the labelled
samples of the batch carry - before θ_E's loss. Evaluation uses θ_C once
stage 2 has started (the released protocol), θ_E before.

Works with every :class:`BaseDenseEstimator`: the Diff-2-in-1 heads
(:class:`DiffusionPerceptor`), MERGE and JointNet.
"""
import contextlib
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from unidense.registry import MODELS
from unidense.utils.trainable_state import (load_trainable_checkpoint,
                                            trainable_state_keys)
from .base_dense_estimator import BaseDenseEstimator, WrappedEstimatorMixin

# metainfo that describes the geometry between the file and the network
# input; a pseudo-label is made on the network input itself
_GEOMETRY_KEYS = ('flip', 'flip_direction', 'padding', 'pad_shape',
                  'kb_crop', 'scale_factor', 'ori_shape', 'img_shape',
                  'batch_input_shape')
# prediction field -> the ground-truth fields a pseudo-label fills
_LABEL_FIELDS = {
    'pred_depth': ('gt_depth', 'gt_depth_norm', 'gt_depth_valid'),
    'pred_normal': ('gt_normal', 'gt_normal_valid'),
    'pred_sem_seg': ('gt_sem_seg', ),
    'pred_parsing': ('gt_parsing', ),
    'pred_saliency': ('gt_saliency', 'gt_saliency_valid'),
    'pred_edge': ('gt_edge', ),
}
_ALL_GT = tuple(f for fields in _LABEL_FIELDS.values() for f in fields)


def _state_name(key: str) -> str:
    """A state-dict key as a buffer name ('.' is not allowed there)."""
    return key.replace('.', '/')


def quantile_normalize(depth: torch.Tensor, low: float = 0.02,
                       high: float = 0.98) -> torch.Tensor:
    """(1, H, W) depth -> [-1, 1] by its 2 % / 98 % quantiles (clipped):
    the ``gt_depth_norm`` of :class:`NormalizeDepth`."""
    flat = depth.reshape(-1).float()
    lo, hi = torch.quantile(flat, low), torch.quantile(flat, high)
    out = (depth.float() - lo) / (hi - lo).clamp_min(1e-6) * 2 - 1
    return out.clamp(-1, 1)


@MODELS.register_module()
class SelfImprovingEstimator(WrappedEstimatorMixin, BaseDenseEstimator):
    """Any dense estimator with a creation copy θ_C of its trainable parts.

    Args:
        estimator (dict | BaseDenseEstimator): the model trained (θ_E).
        stage1_checkpoint (str, optional): a stage-1 (warm-up) checkpoint
            of ``estimator`` (its own keys) loaded into θ_E at build; with
            ``SelfImprovingHook(warmup_iters=0)`` stage 2 starts from it.
        feature_cache (dict, optional): kwargs of
            :class:`~unidense.models.estimators.feature_cache.FeatureCache`
            for estimators that extract frozen-backbone features
            (:class:`DiffusionPerceptor`); θ_C's and θ_E's passes of a batch
            then share one backbone pass, and unchanged images reuse theirs.
        eval_with (str): the copy that predicts once stage 2 has begun:
            'creation' (θ_C, the released protocol) or 'exploitation'
            (θ_E; e.g. ``--cfg-options model.eval_with=exploitation`` at
            test time, to tell the EMA's lag from the synthetic data's
            effect).

    State: ``creation.*`` (θ_C, the trainable keys of the estimator) and
    ``creation_ready`` (0 before stage 2). Both are in trainable-only
    checkpoints, so a resumed run continues stage 2 exactly.
    """

    def __init__(self,
                 estimator,
                 stage1_checkpoint: Optional[str] = None,
                 feature_cache: Optional[dict] = None,
                 eval_with: str = 'creation',
                 init_cfg: Optional[dict] = None):
        inner = self.build_part(estimator)
        if not isinstance(inner, BaseDenseEstimator):
            raise TypeError(f'SelfImprovingEstimator: estimator must be a '
                            f'BaseDenseEstimator, got {type(inner).__name__}')
        super().__init__(data_preprocessor=inner.data_preprocessor,
                         init_cfg=init_cfg)
        self.estimator = inner
        if eval_with not in ('creation', 'exploitation'):
            raise ValueError(f"SelfImprovingEstimator: eval_with="
                             f"{eval_with!r}, expected 'creation' or "
                             f"'exploitation'")
        self.eval_with = eval_with
        if stage1_checkpoint:
            from unidense.utils.checkpoint_io import load_checkpoint_safe
            load_trainable_checkpoint(
                inner, load_checkpoint_safe(stage1_checkpoint),
                stage1_checkpoint, strict=True)
        self.creation_keys: List[str] = sorted(trainable_state_keys(inner))
        if not self.creation_keys:
            raise ValueError(f'SelfImprovingEstimator: '
                             f'{type(inner).__name__} has nothing trainable')
        live = self._live_tensors()
        self.creation = nn.Module()
        for key in self.creation_keys:
            self.creation.register_buffer(_state_name(key),
                                          live[key].detach().clone())
        self.register_buffer('creation_ready', torch.zeros((),
                                                           dtype=torch.uint8))
        self.feature_cache = None
        if feature_cache is not None:
            from .feature_cache import FeatureCache
            if not hasattr(inner, 'backbone_features'):
                raise TypeError(f'SelfImprovingEstimator: feature_cache needs '
                                f'an estimator with backbone_features() '
                                f'(DiffusionPerceptor), not '
                                f'{type(inner).__name__}')
            self.feature_cache = FeatureCache(inner.backbone,
                                              **dict(feature_cache))

    # ------------------------------------------------------------ delegation
    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            inner = self.__dict__['_modules'].get('estimator')
            if inner is None:
                raise
            return getattr(inner, name)

    # ------------------------------------------------------------- θ_C state
    def _live_tensors(self) -> Dict[str, torch.Tensor]:
        """θ_E's tensors by state-dict key."""
        live = dict(self.estimator.named_parameters())
        live.update(self.estimator.named_buffers())
        return live

    def creation_state(self) -> Dict[str, torch.Tensor]:
        """θ_C by the estimator's state-dict keys (the stored tensors)."""
        return {k: getattr(self.creation, _state_name(k))
                for k in self.creation_keys}

    @property
    def in_stage2(self) -> bool:
        return bool(self.creation_ready.item())

    @torch.no_grad()
    def start_self_improving(self) -> None:
        """Stage 2 begins: θ_C <- θ_E (both from the warm-up weights)."""
        live = self._live_tensors()
        for key, value in self.creation_state().items():
            value.copy_(live[key].detach())
        self.creation_ready.fill_(1)

    @torch.no_grad()
    def update_creation(self, alpha: float) -> None:
        """Eq. 8: θ_C <- α θ_C + (1 - α) θ_E on every trainable tensor
        (weights and trained buffers: BN statistics, spectral-norm
        vectors); integer buffers (BN's batch counter) are copied."""
        if not self.in_stage2:
            raise RuntimeError('SelfImprovingEstimator.update_creation '
                               'before stage 2 (start_self_improving)')
        live = self._live_tensors()
        for key, value in self.creation_state().items():
            src = live[key].detach()
            if value.is_floating_point():
                value.mul_(alpha).add_(src.to(value.dtype), alpha=1 - alpha)
            else:
                value.copy_(src)

    @contextlib.contextmanager
    def _shared_features(self):
        """Within one batch θ_C's and θ_E's passes share backbone features
        (the cache, when configured)."""
        cache = self.feature_cache
        if cache is None:
            yield
            return
        previous = getattr(self.estimator, 'feature_cache', None)
        self.estimator.feature_cache = cache
        try:
            yield
        finally:
            self.estimator.feature_cache = previous

    def _run_creation(self, inputs, data_samples, mode='predict'):
        """The estimator with θ_C's tensors, in eval mode, without grads."""
        was_training = self.estimator.training
        self.estimator.eval()
        try:
            with torch.no_grad():
                return torch.func.functional_call(
                    self.estimator, self.creation_state(), (inputs, ),
                    dict(data_samples=data_samples, mode=mode),
                    strict=False)
        finally:
            self.estimator.train(was_training)

    # ------------------------------------------------------- pseudo-labels
    @staticmethod
    def is_unlabelled(sample) -> bool:
        return bool(sample.metainfo.get('unlabelled', False))

    @torch.no_grad()
    def pseudo_label(self, inputs: torch.Tensor, samples: Sequence,
                     fields: Optional[Sequence[str]] = None) -> None:
        """θ_C's predictions on ``inputs`` (B, 3, H, W) written into the
        ground-truth ``fields`` of ``samples`` (at the network input size,
        in the augmented frame).

        Args:
            fields: gt fields the labelled samples of the batch carry;
                those θ_C's outputs give are filled (None: every field
                θ_C's outputs give).
        """
        from unidense.structures import DenseDataSample
        size = tuple(int(s) for s in inputs.shape[-2:])
        fresh = []
        for s in samples:
            meta = {k: v for k, v in s.metainfo.items()
                    if k not in _GEOMETRY_KEYS}
            meta.update(img_shape=size, ori_shape=size)
            f = DenseDataSample(metainfo=meta)
            if s.caption is not None:
                f.caption = s.caption
            fresh.append(f)
        preds = self._run_creation(inputs, fresh)
        given = {}
        for pred_field, gt_fields in _LABEL_FIELDS.items():
            if getattr(preds[0], pred_field, None) is None:
                continue
            for gt in gt_fields:
                given[gt] = pred_field
        # the fields the labelled samples carry that θ_C's outputs give
        # (others, e.g. depth next to a normal-only model, are not used by
        # the loss; if they were, stacking them would name the field)
        wanted = [f for f in (fields if fields is not None else given)
                  if f in given]
        if not wanted:
            raise KeyError(
                f'SelfImprovingEstimator: {type(self.estimator).__name__}\'s '
                f'predictions ({sorted(set(given.values()))}) fill none of '
                f'the labelled samples\' fields {list(fields or [])}')
        for sample, pred in zip(samples, preds):
            for gt in wanted:
                value = getattr(pred, given[gt]).data
                if gt == 'gt_depth':
                    value = value.float().clamp_min(1e-3)
                elif gt == 'gt_depth_norm':
                    value = quantile_normalize(value)
                elif gt.endswith('_valid'):
                    value = torch.ones_like(value[:1], dtype=torch.bool)
                setattr(sample, gt, value)
            sample.set_metainfo(dict(pseudo_labelled=True))

    # ---------------------------------------------------------------- modes
    def loss(self, inputs: torch.Tensor, data_samples: Sequence) -> Dict:
        """θ_E's loss; unlabelled samples get θ_C's labels first (Eq. 7)."""
        samples = list(data_samples)
        unlabelled = [i for i, s in enumerate(samples)
                      if self.is_unlabelled(s)]
        with self._shared_features():
            if unlabelled:
                if not self.in_stage2:
                    raise RuntimeError(
                        'SelfImprovingEstimator: unlabelled (synthetic) '
                        'samples before stage 2; draw warm-up batches from '
                        'the labelled data only (SelfImprovingBatchSampler '
                        'with the hook\'s warmup_iters)')
                labelled = [s for i, s in enumerate(samples)
                            if i not in unlabelled]
                fields = None
                if labelled:
                    fields = [f for f in _ALL_GT
                              if getattr(labelled[0], f, None) is not None]
                self.pseudo_label(inputs[unlabelled],
                                  [samples[i] for i in unlabelled], fields)
            return self.estimator.loss(inputs, samples)

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[Sequence] = None) -> List:
        """θ_C's predictions once stage 2 has begun (``eval_with``), θ_E's
        before."""
        with self._shared_features():
            if self.in_stage2 and self.eval_with == 'creation':
                return self._run_creation(inputs, data_samples)
            return self.estimator.predict(inputs, data_samples)

    def _forward(self, inputs: torch.Tensor,
                 data_samples: Optional[Sequence] = None):
        if self.in_stage2 and self.eval_with == 'creation':
            return self._run_creation(inputs, data_samples, mode='tensor')
        return self.estimator._forward(inputs, data_samples)
