"""The contract every dense estimator follows (an mmengine ``BaseModel``)."""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from unidense.diffusion.freezing import FrozenPartsMixin, freeze
from unidense.registry import MODELS
from unidense.structures import DenseDataSample, restore_to_original
from ..data_preprocessors import built_preprocessor

ProcessingRes = Union[int, Dict[str, int], None]


class BaseDenseEstimator(FrozenPartsMixin, BaseModel, metaclass=ABCMeta):
    """What every dense estimator (MERGE, JointNet, the perception models)
    shares, so that a subclass holds only its algorithm.

    * **Forward dispatch** (mmengine): ``forward(inputs, data_samples,
      mode)`` calls :meth:`loss` (``'loss'`` -> dict of scalar losses),
      :meth:`predict` (``'predict'`` -> the samples with ``pred_*`` fields
      at ``ori_shape``) or :meth:`_forward` (``'tensor'`` -> raw tensors).
    * **Parts**: :meth:`build_part` builds a MODELS config (or keeps a built
      module); :meth:`freeze_parts` freezes named parts for good - no
      gradients, and they stay in eval mode through ``train()`` (see
      :class:`~unidense.diffusion.freezing.FrozenPartsMixin`);
      ``init_weights`` leaves pretrained parts alone unless an ``init_cfg``
      is given.
    * **Prompt caching**: :meth:`encode_prompt` encodes ``prompt`` with
      ``self.text_encoder`` once per device and dtype and expands it to the
      batch.
    * **Processing resolution**: ``processing_res`` (an int long side, 0 =
      the input size, or a dict per ``protocol`` / ``dataset_name``);
      :meth:`resize_for_processing` resizes the batch to a size multiple of
      :attr:`size_multiple`, :meth:`restore_predictions` resizes back and
      undoes the test-time geometry per sample (``restore_to_original``).
    * **Per-sample evaluation seeding**: :meth:`eval_noise_seeds` gives each
      image the seed ``eval_seed + sample_idx``, :meth:`seeded_noise` draws
      its noise on the CPU, so a score depends on neither the global random
      state, the batch size nor the number of processes. With a
      ``train_seed``, :meth:`train_generators` does the same for training
      draws (seeded by ``train_seed``, iteration and ``sample_idx``).

    Args:
        prompt (str): the conditioning prompt of dense prediction ('' in
            Marigold / MERGE).
        processing_res (int | dict | None): see above.
        eval_seed (int | None): base seed of :meth:`eval_noise_seeds`; None
            uses the global random state.
        train_seed (int | None): seed of :meth:`train_generators`; None
            (default) lets training draw from the global random state.
        data_preprocessor (dict | nn.Module, optional): built from
            unidense's registry, so the model builds outside a runner too.
        init_cfg (dict, optional): mmengine init config.
    """

    #: what each ``pred_*`` field holds, for users of the predictions
    #: (``unidense.apis``, ``tools/infer.py``): diffusion depth estimators
    #: give affine-invariant depth in [0, 1] (0 near); a subclass trained
    #: on metric depth overrides ``pred_depth`` with 'metric_depth'.
    prediction_kinds = {
        'pred_depth': 'affine_invariant_depth',
        'pred_normal': 'unit_normals',
        'pred_normal_uncertainty': 'concentration',
        'pred_sem_seg': 'class_ids',
        'pred_parsing': 'class_ids',
        'pred_saliency': 'probability',
        'pred_edge': 'probability',
    }

    def __init__(self,
                 prompt: str = '',
                 processing_res: ProcessingRes = None,
                 eval_seed: Optional[int] = 0,
                 train_seed: Optional[int] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            data_preprocessor=built_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        self.prompt = prompt
        self.processing_res = processing_res
        self.eval_seed = eval_seed
        self.train_seed = train_seed
        self._text_cache = {}

    # ------------------------------------------------------------------ parts
    @staticmethod
    def build_part(cfg: Union[dict, nn.Module, None]):
        """A MODELS config built, a module (or None) returned as is."""
        return MODELS.build(cfg) if isinstance(cfg, dict) else cfg

    def freeze_parts(self, *names: str) -> None:
        """Freeze the parts ``self.<name>`` (frozen means frozen)."""
        for name in names:
            freeze(getattr(self, name))

    def compute_param(self) -> torch.Tensor:
        """A parameter on the device and dtype the model computes in (the
        first trainable one, else the first one)."""
        params = list(self.parameters())
        return next((p for p in params if p.requires_grad), params[0])

    # ---------------------------------------------------------------- prompts
    def encode_prompt(self, batch_size: int,
                      prompt: Optional[str] = None) -> Dict:
        """The cached conditioning prompt, expanded to ``batch_size``.

        Args:
            batch_size: B.
            prompt: defaults to ``self.prompt``.

        Returns:
            dict(embeds (B, L, D), mask (B, L) or None, pooled (B, P) or
            None) on the model's device, floats in its dtype.
        """
        prompt = self.prompt if prompt is None else prompt
        p = self.compute_param()
        key = (p.device, p.dtype, prompt)
        if key not in self._text_cache:
            enc = self.text_encoder.encode([prompt])
            self._text_cache[key] = {
                k: None if v is None else
                v.to(p.device, p.dtype if v.is_floating_point() else v.dtype)
                for k, v in enc.items()
            }
        return {
            k: None if v is None else v.expand(batch_size, *v.shape[1:])
            for k, v in self._text_cache[key].items()
        }

    # ---------------------------------------------------- processing geometry
    @property
    def size_multiple(self) -> int:
        """Processed sizes are multiples of this (e.g. latent stride x
        patch); subclasses override."""
        return 1

    def processing_res_for(self, data_samples: Optional[Sequence]) -> int:
        """``processing_res`` for a batch (looked up per protocol if a dict).

        Raises:
            ValueError: if a dict gives different values within one batch.
        """
        res = self.processing_res
        if not isinstance(res, dict):
            return int(res or 0)
        values = set()
        for sample in data_samples or [None]:
            meta = sample.metainfo if sample is not None else {}
            key = next((meta[k] for k in ('protocol', 'dataset_name')
                        if meta.get(k) in res), 'default')
            values.add(int(res.get(key, 0) or 0))
        if len(values) > 1:
            raise ValueError(f'{type(self).__name__}: one batch mixes '
                             f'processing_res values {sorted(values)}; '
                             f'evaluate datasets in separate batches')
        return values.pop()

    def resize_for_processing(
            self, inputs: torch.Tensor,
            processing_res: Optional[int] = None
    ) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """(B, C, H, W) -> (B, C, H', W') at the processing size, and (H, W).

        ``processing_res`` defaults to ``processing_res_for(None)``; sizes
        are rounded to :attr:`size_multiple`.
        """
        from unidense.pipelines import resize_to_processing_res
        if processing_res is None:
            processing_res = self.processing_res_for(None)
        return resize_to_processing_res(inputs.float(),
                                        processing_res=int(processing_res
                                                           or 0),
                                        multiple=self.size_multiple)

    @staticmethod
    def restore_predictions(preds: torch.Tensor,
                            input_size: Sequence[int],
                            data_samples: Optional[Sequence],
                            field: str,
                            **restore_kwargs) -> List:
        """Write ``preds`` (B, C, H', W') to ``field`` of each sample.

        Resized back to ``input_size`` (H, W), then
        :func:`restore_to_original` undoes padding / flips / resizes
        (``restore_kwargs``: ``mode``, ``is_normal``), so each map is at its
        sample's ``ori_shape``. Without samples, plain ones are made.
        """
        from unidense.pipelines import restore_to_input_size
        preds = restore_to_input_size(preds, input_size)
        if data_samples is None:
            data_samples = [DenseDataSample() for _ in range(len(preds))]
        for pred, sample in zip(preds, data_samples):
            setattr(sample, field,
                    restore_to_original(pred, sample.metainfo,
                                        **restore_kwargs))
        return list(data_samples)

    # ---------------------------------------------------------------- seeding
    def eval_noise_seeds(self, data_samples: Optional[Sequence],
                         batch_size: int) -> Optional[List[int]]:
        """``eval_seed + sample_idx`` per image (None with no eval_seed)."""
        if self.eval_seed is None:
            return None
        samples = data_samples or [None] * batch_size
        return [
            self.eval_seed + int(
                (s.metainfo.get('sample_idx', i) if s is not None else i)
                or 0) for i, s in enumerate(samples)
        ]

    def train_generators(self, data_samples: Sequence) -> List:
        """One CPU generator per sample, seeded by (``train_seed``, optimizer
        step, ``sample_idx``): training on N processes with batch B/N, or
        with batch B/N and N-fold gradient accumulation, then draws what one
        process with batch B draws. The optimizer step is the iteration
        divided by the runner's ``accumulative_counts`` (message hub)."""
        from mmengine.logging import MessageHub
        hub = MessageHub.get_current_instance()
        it = int(hub.get_info('iter', 0) or 0) // max(
            1, int(hub.get_info('accumulative_counts', 1) or 1))
        generators = []
        for i, sample in enumerate(data_samples):
            idx = int(sample.metainfo.get('sample_idx', i) or 0)
            generators.append(torch.Generator().manual_seed(
                hash((int(self.train_seed), it, idx)) & 0x7FFFFFFFFFFF))
        return generators

    def posterior_generators(self, data_samples: Sequence) -> Optional[List]:
        """With ``train_seed`` while training: one CPU generator per sample
        for the VAE posterior sample (a stream apart from
        :meth:`train_generators`'), so N processes sample what one process
        samples; else None (the global random state)."""
        if self.train_seed is None or not self.training:
            return None
        return [torch.Generator().manual_seed(
            g.initial_seed() ^ 0x2545F4914F6CDD1D)
            for g in self.train_generators(data_samples)]

    @staticmethod
    def seeded_noise(seeds: Sequence[int], shape: Sequence[int],
                     like: torch.Tensor) -> torch.Tensor:
        """(len(seeds) * shape[0], *shape[1:]) standard normal noise, each
        block from a CPU generator seeded with its seed (the same draw on
        any device), then moved to ``like``'s device and dtype."""
        return torch.cat([
            torch.randn(tuple(shape),
                        generator=torch.Generator().manual_seed(int(s)))
            for s in seeds
        ]).to(like)

    # --------------------------------------------------------------- dispatch
    @abstractmethod
    def loss(self, inputs: torch.Tensor, data_samples: Sequence) -> Dict:
        """Dict of scalar losses (``'loss_*'`` keys) for a training batch."""

    @abstractmethod
    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[Sequence] = None) -> List:
        """The samples with their ``pred_*`` fields at ``ori_shape``."""

    @abstractmethod
    def _forward(self, inputs: torch.Tensor,
                 data_samples: Optional[Sequence] = None):
        """Raw network outputs (``mode='tensor'``)."""

    def forward(self, inputs: torch.Tensor,
                data_samples: Optional[Sequence] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(f'{type(self).__name__}.forward: invalid mode '
                           f"{mode!r}; expected 'loss', 'predict' or "
                           f"'tensor'")


class WrappedEstimatorMixin:
    """For estimators that wrap another as ``self.estimator``
    (:class:`SelfImprovingEstimator`, :class:`OneStepEstimator`): what the
    predictions hold and the size multiple are the wrapped one's. List it
    before :class:`BaseDenseEstimator` in the bases."""

    @property
    def prediction_kinds(self):
        return self.estimator.prediction_kinds

    @property
    def size_multiple(self) -> int:
        return self.estimator.size_multiple
