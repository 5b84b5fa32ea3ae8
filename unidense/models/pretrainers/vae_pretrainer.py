"""Train an ``AutoencoderKL`` on RGB images and on depth / normal maps."""
from typing import Dict, Optional, Sequence

import torch
from mmengine.model import BaseModel

from unidense.diffusion.latent_codec import LatentCodec
from unidense.registry import MODELS
from unidense.structures.dense_data_sample import stack_pixel_field
from ..data_preprocessors import built_preprocessor

_MODALITIES = ('rgb', 'depth', 'normal')


@MODELS.register_module()
class VAEPretrainer(BaseModel):
    """Reconstruction + KL training of a diffusers ``AutoencoderKL``.

    Every batch is seen three ways, so the one VAE serves the RGB latents of
    a text-to-image model and the depth / normal latents of dense
    estimators (:class:`~unidense.diffusion.LatentCodec` conventions):

    - ``rgb``: the image, (B, 3, H, W) in [-1, 1];
    - ``depth``: ``gt_depth_norm`` (affine-normalised, [-1, 1]) replicated to
      3 channels, as Marigold feeds depth to SD's VAE;
    - ``normal``: ``gt_normal`` unit vectors, (B, 3, H, W) in [-1, 1].

    Loss per modality: ``w_m * (L1(recon, x) over valid pixels + kl_weight *
    KL(posterior || N(0, I)))``, logged as ``loss_<modality>`` and
    ``loss_kl``.

    ``trainable='decoder'`` fine-tunes the decoder (``post_quant_conv`` +
    ``decoder``) of a trained VAE with its encoder frozen, as
    ``sd-vae-ft-mse`` did for Stable Diffusion: the latent space, and so
    every denoiser and estimator trained on it, stays exactly as it was
    (the export keeps ``scaling_factor``), while decoded images get
    better. There is no KL term then (it depends on the encoder only).

    ``predict`` returns ``pred_depth`` = decode(encode(depth)) in the
    normalised space, so ``tools/test.py`` with ``DepthMetric``
    (least-squares alignment) measures the depth round trip.

    Args:
        vae (dict): ``AutoencoderKL`` config (trainable).
        modalities (dict): modality -> loss weight.
        kl_weight (float): KL weight (SD's VAE used 1e-6).
        sample_posterior (bool): decode a posterior sample while training
            (the mean otherwise); evaluation always uses the mean.
        trainable (str): ``'all'`` or ``'decoder'`` (encoder and
            ``quant_conv`` frozen).
    """

    def __init__(self,
                 vae: dict,
                 modalities: Optional[Dict[str, float]] = None,
                 kl_weight: float = 1e-6,
                 sample_posterior: bool = True,
                 trainable: str = 'all',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            data_preprocessor=built_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        self.vae = MODELS.build(vae) if isinstance(vae, dict) else vae
        self.modalities = dict(modalities or dict(rgb=1.0, depth=1.0,
                                                  normal=0.5))
        unknown = set(self.modalities) - set(_MODALITIES)
        if unknown:
            raise ValueError(f'VAEPretrainer: unknown modalities '
                             f'{sorted(unknown)}; use {_MODALITIES}')
        self.kl_weight = float(kl_weight)
        self.sample_posterior = bool(sample_posterior)
        if trainable not in ('all', 'decoder'):
            raise ValueError(f"VAEPretrainer: trainable={trainable!r}; use "
                             "'all' or 'decoder'")
        self.trainable = trainable
        if trainable == 'decoder':
            for module in self._encoder_modules():
                module.requires_grad_(False)

    def _encoder_modules(self):
        return [m for m in (self.vae.encoder,
                            getattr(self.vae, 'quant_conv', None))
                if m is not None]

    def train(self, mode: bool = True):
        super().train(mode)
        if self.trainable == 'decoder':
            # frozen parts stay in eval mode (no dropout / norm updates)
            for module in self._encoder_modules():
                module.eval()
        return self

    # -- targets --------------------------------------------------------------
    @staticmethod
    def _stack(data_samples, name):
        maps = stack_pixel_field(data_samples, name)
        if maps is None:
            raise KeyError(f'VAEPretrainer: data_samples have no `{name}`; '
                           'add its Load* transform')
        return maps

    def targets(self, inputs: torch.Tensor, data_samples: Sequence):
        """modality -> (x (B, 3, H, W) in [-1, 1], valid (B, 1, H, W))."""
        full = torch.ones_like(inputs[:, :1], dtype=torch.bool)
        out = {}
        if 'rgb' in self.modalities:
            out['rgb'] = (inputs, full)
        if 'depth' in self.modalities:
            depth = self._stack(data_samples, 'gt_depth_norm').to(inputs)
            valid = self._stack(data_samples,
                                'gt_depth_valid').to(inputs.device)
            out['depth'] = (LatentCodec.depth_to_rgb(depth), valid.bool())
        if 'normal' in self.modalities:
            normal = self._stack(data_samples, 'gt_normal').to(inputs)
            valid = self._stack(data_samples,
                                'gt_normal_valid').to(inputs.device)
            out['normal'] = (normal, valid.bool())
        return out

    def reconstruct(self, x: torch.Tensor, sample: bool = False):
        """(B, 3, H, W) -> (reconstruction (B, 3, H, W), posterior)."""
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and self.trainable == 'all'):
            posterior = self.vae.encode(x).latent_dist
        z = posterior.sample() if sample else posterior.mode()
        return self.vae.decode(z).sample, posterior

    # -- BaseModel ------------------------------------------------------------
    def loss(self, inputs, data_samples) -> Dict[str, torch.Tensor]:
        losses, kl = {}, 0.0
        for name, (x, valid) in self.targets(inputs, data_samples).items():
            recon, posterior = self.reconstruct(
                x, sample=self.sample_posterior)
            err = (recon - x).abs().mean(1, keepdim=True)
            mask = valid.to(err.dtype)
            l1 = (err * mask).sum() / mask.sum().clamp(min=1)
            losses[f'loss_{name}'] = self.modalities[name] * l1
            if self.trainable == 'all':
                kl = kl + self.modalities[name] * posterior.kl().mean()
        if self.trainable == 'all':
            losses['loss_kl'] = self.kl_weight * kl
        return losses

    def predict(self, inputs, data_samples):
        with torch.no_grad():
            targets = self.targets(inputs, data_samples)
            if 'depth' not in targets:
                raise ValueError('VAEPretrainer.predict measures the depth '
                                 'round trip: add `depth` to modalities')
            recon, _ = self.reconstruct(targets['depth'][0])
            pred = LatentCodec.rgb_to_depth(recon)
        for sample, depth in zip(data_samples, pred):
            sample.pred_depth = depth
        return data_samples

    # -- export ---------------------------------------------------------------
    @torch.no_grad()
    def latent_scaling_factor(self, images: torch.Tensor) -> float:
        """1 / std of the posterior means of ``images`` (N, 3, H, W) in
        [-1, 1]: diffusers' ``scaling_factor`` that gives unit-variance
        latents (SD's 0.18215 was found the same way)."""
        z = self.vae.encode(images).latent_dist.mode()
        return float(1.0 / z.float().std())

    def export(self, out_dir: str, images: torch.Tensor) -> str:
        """Save the VAE as a diffusers folder (``config.json`` +
        safetensors) with ``scaling_factor`` measured on ``images`` (kept
        as loaded when only the decoder was trained: the latents it scales
        are unchanged)."""
        from .export import save_pretrained_atomic
        if self.trainable == 'all':
            self.vae.register_to_config(
                scaling_factor=self.latent_scaling_factor(images))
        return save_pretrained_atomic(self.vae, out_dir)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.reconstruct(inputs)[0]
        raise ValueError(f'VAEPretrainer: unknown mode {mode!r}')
