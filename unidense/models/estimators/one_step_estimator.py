"""OneStepEstimator: one-step dense estimation at the trailing timestep and
its end-to-end fine-tuning (Garcia et al., "Fine-tuning image-conditional
diffusion models is easier than you think", WACV 2025).

Their finding: Marigold-style estimators looked like they needed many
denoising steps because of a timestep bug (DDIM's 'leading' spacing starts
a one-step sampler at t = 1 instead of the trailing t = T - 1). Run once at
the trailing timestep from a zero (noise-mean) latent, the network's clean
estimate is already a depth map; fine-tuning exactly that deterministic
pass with a task loss *after the frozen VAE decoder* then improves it
further, at the cost of one network call per image.

:class:`OneStepEstimator` wraps a trained diffusion estimator and does
both, with no change to the estimator:

* MERGE (PixArt or FLUX): the depth latent starts at zeros with t = T - 1
  (sigma = 1 for flow matching) beside the clean RGB latent;
* JointNet (``rgb2j``): the RGB branch sees its clean latent at t = 0 and
  the depth branch zeros at t = T - 1, one joint call (per-branch
  timesteps of :class:`ZeroConvExchange`); the plain rgb2j sampler instead
  re-noises the RGB branch to the depth branch's timestep, so at t = T - 1
  it would see noise.

The clean latent estimate (epsilon, v or flow output converted by the
training schedule's coefficients) is decoded with gradients
(:meth:`LatentCodec.decode_with_grad`) and compared with ``gt_depth_norm``
by ``loss`` (default :class:`AffineInvariantDepthLoss`). Only the
estimator's own trainable parts train (MERGE's converters; JointNet's
joint branch and exchange convolutions). Predictions are deterministic:
``pred_depth`` relative in [0, 1] (0 near), as the wrapped estimator's.
"""
from typing import Dict, List, Optional, Sequence

import torch

from unidense.diffusion.schedulers import clean_latent_estimate
from unidense.registry import MODELS
from unidense.structures import stack_pixel_field
from unidense.utils.trainable_state import load_trainable_checkpoint
from .base_dense_estimator import BaseDenseEstimator, WrappedEstimatorMixin


def _trailing(scheduler) -> int:
    return int(scheduler.config.num_train_timesteps) - 1


def _prediction_type(estimator) -> str:
    kind = getattr(estimator, 'prediction_type', None)
    if kind is None:  # JointNet follows its UNet's scheduler
        kind = estimator.train_scheduler.config.prediction_type
    return kind


def merge_one_step_latent(est, z_rgb: torch.Tensor) -> torch.Tensor:
    """MERGE: the clean depth latent of one depth-mode call at the trailing
    timestep from zeros, ``z_rgb`` (B, C, h, w) -> (B, C, h, w)."""
    b = len(z_rgb)
    zeros = torch.zeros_like(z_rgb)
    text = est.encode_prompt(b)
    kind = est.prediction_type
    if kind == 'flow':
        out = est.denoiser(zeros, z_rgb, zeros.new_ones(b), text)
        return clean_latent_estimate(out, zeros, 'flow')
    t = _trailing(est.train_scheduler)
    out = est.denoiser(zeros, z_rgb, torch.full((b, ), t,
                                                device=z_rgb.device), text)
    return clean_latent_estimate(out, zeros, kind,
                                 est.train_scheduler.alphas_cumprod[t])


def jointnet_one_step_latent(est, z_rgb: torch.Tensor) -> torch.Tensor:
    """JointNet: the depth branch's clean latent of one joint call, the RGB
    branch clean at t = 0 and the depth branch from zeros at t = T - 1."""
    names = est.branch_names
    if 'depth' not in names:
        raise ValueError(f'OneStepEstimator: JointNet has no depth branch '
                         f'({names})')
    b, c = len(z_rgb), z_rgb.shape[1]
    zeros = torch.zeros_like(z_rgb)
    latent = torch.cat([z_rgb if n == 'rgb' else zeros for n in names], 1)
    t = _trailing(est.train_scheduler)
    steps = {n: torch.full((b, ), 0 if n == 'rgb' else t,
                           device=z_rgb.device) for n in names}
    text = est.encode_text(est._prompts(None, b))
    out = est.fusion(latent, steps, text)
    i = names.index('depth')
    return clean_latent_estimate(out[:, i * c:(i + 1) * c], zeros,
                                 _prediction_type(est),
                                 est.train_scheduler.alphas_cumprod[t])


_ONE_STEP = {'MERGE': merge_one_step_latent,
             'JointNet': jointnet_one_step_latent}


@MODELS.register_module()
class OneStepEstimator(WrappedEstimatorMixin, BaseDenseEstimator):
    """One-step depth at the trailing timestep, trainable end to end.

    Args:
        estimator (dict | BaseDenseEstimator): a MERGE (depth task) or
            JointNet with a depth branch.
        init_checkpoint (str, optional): the estimator's trained checkpoint
            (e.g. ``work_dirs/pixart_depth_tiny/iter_1000.pth``), loaded
            into it when training starts (:meth:`init_weights`). Testing
            takes either a fine-tuned checkpoint of this model or the
            estimator's own (one step without fine-tuning).
        loss (dict): the task loss on decoded depth against
            ``gt_depth_norm`` (valid pixels ``gt_depth_valid``).
    """

    def __init__(self,
                 estimator,
                 init_checkpoint: Optional[str] = None,
                 loss: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        inner = self.build_part(estimator)
        kind = type(inner).__name__
        if kind not in _ONE_STEP:
            raise TypeError(f'OneStepEstimator: supports {sorted(_ONE_STEP)}'
                            f', got {kind}')
        if getattr(inner, 'task', 'depth') != 'depth':
            raise ValueError(f'OneStepEstimator: depth only, the {kind} '
                             f'estimates {inner.task}')
        super().__init__(data_preprocessor=inner.data_preprocessor,
                         init_cfg=init_cfg)
        self.estimator = inner
        self.init_checkpoint = init_checkpoint
        self.task_loss = MODELS.build(
            loss or dict(type='AffineInvariantDepthLoss'))
        self._one_step = _ONE_STEP[kind]
        self._register_load_state_dict_pre_hook(self._estimator_layout)

    def init_weights(self) -> None:
        """Before training (the runner calls it; a resume overrides it
        afterwards): the estimator's weights from ``init_checkpoint``."""
        super().init_weights()
        if self.init_checkpoint:
            from unidense.utils.checkpoint_io import load_checkpoint_safe
            load_trainable_checkpoint(
                self.estimator, load_checkpoint_safe(self.init_checkpoint),
                self.init_checkpoint, strict=True)

    @staticmethod
    def _estimator_layout(state_dict, prefix, *args) -> None:
        """Accept the wrapped estimator's own checkpoints too (keys without
        ``estimator.``): ``tools/test.py`` then scores a trained MERGE /
        JointNet checkpoint one-step, before any fine-tuning."""
        own = prefix + 'estimator.'
        keys = [k for k in state_dict if k.startswith(prefix)]
        if keys and not any(k.startswith(own) or
                            k.startswith(prefix + 'task_loss.')
                            for k in keys):
            for key in keys:
                state_dict[own + key[len(prefix):]] = state_dict.pop(key)

    def depth_map(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [-1, 1] -> (B, 1, H, W) decoded depth
        (about [-1, 1], not clamped), differentiable in the trainable
        parts."""
        est = self.estimator
        z_rgb = est.codec.encode_rgb(inputs).to(est.compute_param().dtype)
        z = self._one_step(est, z_rgb)
        return est.codec.rgb_to_depth(est.codec.decode_with_grad(z)).float()

    def loss(self, inputs: torch.Tensor, data_samples: Sequence) -> Dict:
        """Task loss of the one-step depth against ``gt_depth_norm``."""
        target = stack_pixel_field(data_samples, 'gt_depth_norm')
        if target is None:
            raise KeyError('OneStepEstimator.loss: the samples have no '
                           'gt_depth_norm; add NormalizeDepth to the train '
                           'pipeline')
        valid = stack_pixel_field(data_samples, 'gt_depth_valid')
        pred = self.depth_map(inputs)
        target = target.to(pred.device)
        if valid is not None:
            valid = valid.to(pred.device)
        return {self.task_loss.loss_name:
                self.task_loss(pred, target, valid)}

    @torch.no_grad()
    def estimate_depth(self, inputs: torch.Tensor,
                       processing_res: Optional[int] = None
                       ) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, 1, H, W) relative depth in [0, 1]
        at the input size (processed at ``processing_res``)."""
        from unidense.pipelines import (depth_to_unit_range,
                                        restore_to_input_size)
        x, size = self.estimator.resize_for_processing(inputs,
                                                       processing_res)
        depth = depth_to_unit_range(self.depth_map(x).clamp(-1, 1))
        return restore_to_input_size(depth, size)

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[Sequence] = None) -> List:
        """``pred_depth`` (1, H, W) relative in [0, 1] at ``ori_shape``."""
        maps = self.estimate_depth(
            inputs, self.estimator.processing_res_for(data_samples))
        return self.restore_predictions(maps, inputs.shape[-2:],
                                        data_samples, 'pred_depth')

    def _forward(self, inputs: torch.Tensor,
                 data_samples: Optional[Sequence] = None):
        return self.estimate_depth(inputs)
