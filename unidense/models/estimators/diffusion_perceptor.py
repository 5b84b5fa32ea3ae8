"""DiffusionPerceptor: dense perception on one-step diffusion features.

Diff-2-in-1 (Zheng et al., ICLR 2025) stage 1 ("warm-up"): a frozen SD UNet
gives multi-scale features in one denoising step (:class:`SDUNetFeatures`),
a :class:`MultiScaleFusionNeck` turns them into exactly the levels a task
head expects (Eq. 9-10), and one head - or several - predicts the maps.
The heads of Bae et al., iDisc, InvPT, TaskPrompter and VPD plug in as they
are; a new head is one file with a ``feature_specs`` property and one
config.
"""
import contextlib
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn

from unidense.diffusion.freezing import freeze
from unidense.registry import MODELS
from .base_dense_estimator import BaseDenseEstimator

# head predict() key -> (DenseDataSample field, restore mode)
PRED_FIELDS = {
    'depth': ('pred_depth', 'bilinear'),
    'normal': ('pred_normal', 'bilinear'),
    'kappa': ('pred_normal_uncertainty', 'bilinear'),
    'seg_logits': ('seg_logits', 'bilinear'),
    'sem_seg': ('pred_sem_seg', 'nearest'),
    'parsing': ('pred_parsing', 'nearest'),
    'saliency': ('pred_saliency', 'bilinear'),
    'edge': ('pred_edge', 'bilinear'),
}


def diff2in1_target_strides(in_strides: Sequence[int]) -> List[int]:
    """Diff-2-in-1 fuses each tapped level one step finer than it is
    tapped (the finest stays): (8, 16, 32, 64) -> (8, 8, 16, 32)."""
    s = [int(v) for v in in_strides]
    return s[:1] + s[:-1]


@MODELS.register_module()
class DiffusionPerceptor(BaseDenseEstimator):
    """Frozen diffusion features -> neck -> task head(s).

    Forward: image (B, 3, H, W) in [-1, 1] -> (optionally resized to
    ``input_size``) -> ``backbone`` (:class:`SDUNetFeatures`: 4 maps at
    strides ``f, 2f, 4f, 8f`` with f the VAE's downsampling) -> per head a
    ``neck`` built for that head: ``MultiScaleFusionNeck(in_channels=
    backbone.out_channels, in_strides=..., out_specs=head.feature_specs)``
    (``neck=None``: the backbone maps go to the head as they are, e.g. VPD)
    -> optionally ``+ encoder`` maps (:class:`TimmEncoder`, resized to each
    level; InvPT / TaskPrompter keep their ViT, paper A.1) -> ``head``.

    Trainable: the necks, heads, the encoder (unless frozen) and the
    backbone's text adapter; the UNet (unless ``frozen_unet=False`` in the
    backbone, as VPD), VAE and text encoder are frozen and stay in eval
    mode.

    Losses are the heads' own (each carries its ``loss_weight``; the
    multi-task heads default to InvPT / TaskPrompter's per-task weights:
    semseg 1, depth 1, normal 10, edge 50, parts 2, saliency 5);
    ``head_weights`` scales whole heads when several are trained together.

    Args:
        backbone (dict): ``SDUNetFeatures`` config.
        head (dict | list[dict]): head config(s); each needs a
            ``feature_specs`` property ``[(stride, channels), ...]``.
        neck (dict | None): neck config without ``in_channels`` /
            ``out_specs`` (filled per head). ``in_strides`` defaults to the
            backbone's, ``target_strides`` to Diff-2-in-1's one-step-finer
            fusion (:func:`diff2in1_target_strides`).
        encoder (dict, optional): ``TimmEncoder`` config whose maps are
            added to the features of every head (their count and widths
            must match the head's ``feature_specs``).
        head_weights (Sequence[float], optional): one factor per head.
        input_size (tuple[int, int], optional): resize every batch to this
            (H, W) before the networks (Diff-2-in-1 / SD-1.5: 512 x 512,
            non-aspect-preserving); predictions are resized back.
        caption_key (str): metainfo key with per-image captions (backbone
            ``text='caption'``).
        class_id_key (str): metainfo key with a per-image class id
            (backbone ``text='class_names'``, VPD depth: scene category);
            absent -> all classes as the context.
        prompt, processing_res, eval_seed, train_seed, data_preprocessor,
        init_cfg: see :class:`BaseDenseEstimator`.

    Evaluation is repeatable: the backbone's random draws (VAE posterior
    sample, q-sample noise; Diff-2-in-1) are seeded in :meth:`predict` with
    ``eval_seed + sample_idx`` of the batch's first sample (None: the global
    random state). With ``train_seed`` set, training draws are per sample
    (seeded by ``train_seed``, iteration and ``sample_idx``): the backbone
    runs image by image, each under its own seed, and each sample carries
    its seed as ``train_noise_seed`` metainfo for heads that draw (Bae's
    point sampling), so N processes x batch B/N draw what one process x
    batch B draws. Off by default (it forgoes batching the frozen UNet).

    ``predict`` fills, at each sample's ``ori_shape``: ``pred_depth``,
    ``pred_normal`` (+ ``pred_normal_uncertainty`` = kappa),
    ``pred_sem_seg`` + ``seg_logits``, ``pred_parsing``, ``pred_saliency``,
    ``pred_edge`` - whichever the heads produce.
    """

    def __init__(self,
                 backbone: dict,
                 head: Union[dict, Sequence[dict]],
                 neck: Optional[dict] = dict(type='MultiScaleFusionNeck'),
                 encoder: Optional[dict] = None,
                 head_weights: Optional[Sequence[float]] = None,
                 input_size: Optional[Sequence[int]] = None,
                 caption_key: str = 'caption',
                 class_id_key: str = 'category_id',
                 prompt: str = '',
                 processing_res=None,
                 eval_seed: Optional[int] = 0,
                 train_seed: Optional[int] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(prompt=prompt, processing_res=processing_res,
                         eval_seed=eval_seed, train_seed=train_seed,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.backbone = self.build_part(backbone)
        # the VAE and text encoder never train (the UNet follows the
        # backbone's `frozen_unet`)
        freeze(self.backbone.codec)
        freeze(self.backbone.text_encoder)
        heads = [head] if isinstance(head, (dict, nn.Module)) else list(head)
        if not heads:
            raise ValueError('DiffusionPerceptor: no head')
        self.heads = nn.ModuleList(self.build_part(h) for h in heads)
        self.head_weights = [float(w) for w in (head_weights or
                                                [1.0] * len(heads))]
        if len(self.head_weights) != len(heads):
            raise ValueError(f'DiffusionPerceptor: {len(self.head_weights)} '
                             f'head_weights for {len(heads)} heads')
        self.necks = nn.ModuleList(
            self._build_neck(neck, h) for h in self.heads)
        self.encoder = self.build_part(encoder)
        if self.encoder is not None:
            self._check_encoder()
        self.input_size = tuple(int(s) for s in input_size) \
            if input_size else None
        self.caption_key = caption_key
        self.class_id_key = class_id_key

    # ------------------------------------------------------------- building
    @property
    def in_strides(self) -> List[int]:
        """Strides of the backbone's 4 maps w.r.t. the image."""
        f = int(self.backbone.codec.downsample_factor)
        return [f * 2**i for i in range(4)]

    @property
    def size_multiple(self) -> int:
        """Inputs are multiples of the coarsest UNet stride."""
        return self.in_strides[-1]

    def _build_neck(self, neck, head):
        specs = [(int(s), int(c)) for s, c in head.feature_specs]
        if neck is None:
            got = list(self.backbone.out_channels)
            if [c for _, c in specs] != got:
                raise ValueError(
                    f'DiffusionPerceptor: neck=None needs the backbone maps '
                    f'{got} to be what {type(head).__name__} expects '
                    f'{specs}')
            return nn.Identity()
        cfg = dict(neck)
        cfg.setdefault('in_strides', self.in_strides)
        cfg.setdefault('target_strides',
                       diff2in1_target_strides(cfg['in_strides']))
        cfg.update(in_channels=list(self.backbone.out_channels),
                   out_specs=specs)
        return MODELS.build(cfg)

    def _check_encoder(self):
        enc = self.encoder
        for head in self.heads:
            want = [c for _, c in head.feature_specs]
            if list(enc.out_channels) != want:
                raise ValueError(
                    f'DiffusionPerceptor: encoder maps {enc.out_channels} do '
                    f'not match {type(head).__name__} levels {want}')
            # TaskPrompter: the ViT blocks live in the head
            for name, state in getattr(enc, 'handoff', {}).items():
                target = getattr(head, name, None)
                if isinstance(target, nn.Module):
                    target.load_state_dict(state, strict=False)
        enc.handoff = {}  # loaded; do not keep a second copy

    # ------------------------------------------------------------- features
    def _text_inputs(self, data_samples, batch):
        text = getattr(self.backbone, 'text', 'empty')
        samples = list(data_samples or [])
        if text == 'caption':
            caps = [getattr(s, 'caption', None) or
                    s.metainfo.get(self.caption_key) for s in samples]
            if len(caps) != batch or any(c is None for c in caps):
                raise KeyError(f"DiffusionPerceptor: text='caption' needs a "
                               f'caption (or `{self.caption_key}` meta) in '
                               f'every sample')
            return dict(captions=caps)
        if text == 'class_names' and len(samples) == batch and samples and \
                all(self.class_id_key in s.metainfo for s in samples):
            return dict(class_ids=torch.as_tensor(
                [int(s.metainfo[self.class_id_key]) for s in samples]))
        return {}

    #: a :class:`~unidense.models.estimators.feature_cache.FeatureCache`
    #: (set by :class:`SelfImprovingEstimator`), or None
    feature_cache = None

    def backbone_features(self, inputs: torch.Tensor,
                          data_samples: Optional[Sequence] = None
                          ) -> List[torch.Tensor]:
        """The backbone's 4 maps (finest first) for ``inputs`` (B, 3, H, W)
        in [-1, 1], through ``feature_cache`` when one is set."""
        if self.training and self.train_seed is not None and \
                data_samples is not None and self.feature_cache is None:
            return self._per_sample_features(inputs, data_samples)
        text = self._text_inputs(data_samples, len(inputs))
        if self.feature_cache is not None:
            return self.feature_cache(inputs, text)
        return self.backbone(inputs, **text)

    def _per_sample_features(self, inputs, data_samples):
        """Training with ``train_seed``: the backbone image by image, the
        global random state seeded per sample (and restored afterwards)."""
        seeds = [g.initial_seed() for g in self.train_generators(data_samples)]
        maps = []
        for x, sample, seed in zip(inputs, data_samples, seeds):
            sample.set_metainfo(dict(train_noise_seed=seed))
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                maps.append(self.backbone(
                    x[None], **self._text_inputs([sample], 1)))
        return [torch.cat(level) for level in zip(*maps)]

    def extract_feat(self, inputs: torch.Tensor,
                     data_samples: Optional[Sequence] = None
                     ) -> List[List[torch.Tensor]]:
        """Per head, its feature list (finest first).

        Args:
            inputs: (B, 3, H, W) in [-1, 1], at the network size.
        """
        feats = self.backbone_features(inputs, data_samples)
        extra = self.encoder(inputs) if self.encoder is not None else None
        out = []
        for neck in self.necks:
            f = list(feats) if isinstance(neck, nn.Identity) else neck(feats)
            if extra is not None:
                f = self.encoder.add_to(f, extra)
            out.append(f)
        return out

    def _network_input(self, inputs):
        if self.input_size is None or tuple(inputs.shape[-2:]) == \
                self.input_size:
            return inputs
        return nn.functional.interpolate(inputs.float(),
                                         size=self.input_size,
                                         mode='bilinear',
                                         align_corners=False)

    # ---------------------------------------------------------------- modes
    def loss(self, inputs: torch.Tensor, data_samples: Sequence) -> Dict:
        """Sum of the heads' losses (``'loss_*'`` scalars).

        Targets are the samples' ground truth at the batch size; every head
        resizes its outputs to them.
        """
        feats = self.extract_feat(self._network_input(inputs), data_samples)
        losses = {}
        for i, (head, f, w) in enumerate(zip(self.heads, feats,
                                             self.head_weights)):
            for key, value in head.loss(f, data_samples).items():
                if key in losses:
                    key = f'{key}_h{i}'
                losses[key] = value * w if w != 1.0 else value
        return losses

    @contextlib.contextmanager
    def _eval_rng(self, data_samples, batch_size):
        """The global random state seeded for one evaluation batch (and
        restored afterwards)."""
        seeds = self.eval_noise_seeds(data_samples, batch_size)
        if seeds is None:
            yield
            return
        device = self.compute_param().device
        cuda = [device.index or 0] if device.type == 'cuda' else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(int(seeds[0]))
            yield

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[Sequence] = None) -> List:
        """Every head's maps as ``pred_*`` fields at ``ori_shape``."""
        from unidense.structures import DenseDataSample
        if data_samples is None:
            data_samples = [DenseDataSample(metainfo=dict(
                img_shape=tuple(inputs.shape[-2:]))) for _ in inputs]
        with self._eval_rng(data_samples, len(inputs)):
            feats = self.extract_feat(self._network_input(inputs),
                                      data_samples)
        size = inputs.shape[-2:]
        for head, f in zip(self.heads, feats):
            preds = head.predict(f, data_samples)
            for key, value in preds.items():
                if key not in PRED_FIELDS:
                    continue
                field, mode = PRED_FIELDS[key]
                self.restore_predictions(
                    value.float() if mode != 'nearest' else value, size,
                    data_samples, field, mode=mode,
                    is_normal=key == 'normal')
                if mode == 'nearest':
                    for s in data_samples:
                        setattr(s, field,
                                getattr(s, field).data.round().long())
        return list(data_samples)

    def _forward(self, inputs: torch.Tensor,
                 data_samples: Optional[Sequence] = None):
        """Raw head outputs: a dict per head (a dict for one head)."""
        feats = self.extract_feat(self._network_input(inputs), data_samples)
        outs = [head(f) for head, f in zip(self.heads, feats)]
        return outs[0] if len(outs) == 1 else outs
