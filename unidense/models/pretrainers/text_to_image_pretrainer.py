"""Train a diffusers denoiser (PixArt DiT or SD UNet) text-to-image."""
import random
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel, ExponentialMovingAverage

from unidense.diffusion.freezing import keep_frozen_in_eval
from unidense.diffusion.schedulers import as_scheduler
from unidense.registry import MODELS
from ..data_preprocessors import built_preprocessor


@MODELS.register_module()
class TextToImagePretrainer(BaseModel):
    """Denoising training of a text-conditioned latent diffusion model.

    The image (B, 3, H, W) in [-1, 1] is encoded by a frozen VAE
    (``z = mode(posterior) * scaling_factor``, (B, C, H/f, W/f)), noised at
    a uniform timestep of ``train_scheduler`` and denoised by ``denoiser``
    conditioned on the sample's ``caption`` through a frozen
    :class:`~unidense.diffusion.TextEncoder`; the loss is the MSE to the
    ``prediction_type`` target (``'epsilon'``, ``'v_prediction'`` or
    ``'sample'``). Captions are replaced by the empty prompt with
    probability ``caption_dropout`` so classifier-free guidance works.

    ``denoiser`` is called as diffusers' own pipelines call it:
    ``PixArtTransformer2DModel`` with the text mask and no resolution
    conditions (its first ``C`` output channels are the prediction, the
    rest PixArt's learnt variance, unused); ``UNet2DConditionModel`` with
    the embeddings only (``StableDiffusionPipeline`` passes no mask).

    An exponential moving average of the denoiser (``ema``, an mmengine
    averaged model kept in checkpoints) is updated after every optimizer
    step; ``tools/model_converters/export_pretrained.py`` saves it.

    Args:
        denoiser (dict): ``PixArtTransformer2DModel`` or
            ``UNet2DConditionModel`` config (trainable).
        vae (dict): ``AutoencoderKL`` config (frozen).
        text_encoder (dict): ``TextEncoder`` config (frozen).
        train_scheduler (dict): diffusers scheduler with ``add_noise``.
        prediction_type (str): training target.
        caption_dropout (float): probability of the empty prompt.
        ema_momentum (float | None): mmengine EMA momentum (1 - decay);
            None disables the EMA.
    """

    def __init__(self,
                 denoiser: dict,
                 vae: dict,
                 text_encoder: dict,
                 train_scheduler: dict,
                 prediction_type: str = 'v_prediction',
                 caption_dropout: float = 0.1,
                 ema_momentum: Optional[float] = 1e-3,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            data_preprocessor=built_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        if prediction_type not in ('epsilon', 'v_prediction', 'sample'):
            raise ValueError(f'TextToImagePretrainer: prediction_type='
                             f'{prediction_type!r}')
        self.denoiser = MODELS.build(denoiser)
        self.vae = MODELS.build(dict(vae, frozen=True))
        self.text_encoder = MODELS.build(dict(text_encoder, frozen=True))
        self.train_scheduler = as_scheduler(train_scheduler,
                                            what='train_scheduler')
        self.prediction_type = prediction_type
        self.caption_dropout = float(caption_dropout)
        self.ema = None if ema_momentum is None else \
            ExponentialMovingAverage(self.denoiser, momentum=ema_momentum)
        self._caption_rng = random.Random(0)
        self._is_pixart = type(self.denoiser).__name__.startswith('PixArt')

    def train(self, mode: bool = True):
        super().train(mode)
        keep_frozen_in_eval(self)
        if self.ema is not None:
            self.ema.eval()
        return self

    @property
    def scaling_factor(self) -> float:
        return float(getattr(self.vae.config, 'scaling_factor', 1.0) or 1.0)

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] -> scaled latents (B, C, H/f, W/f)."""
        with torch.no_grad():
            posterior = self.vae.encode(images).latent_dist
            return posterior.mode() * self.scaling_factor

    def predict_noise(self, denoiser, latents, timesteps, text):
        """One denoiser call with ``text`` from :meth:`TextEncoder.encode`;
        returns (B, C, h, w) in ``prediction_type`` units."""
        if self._is_pixart:
            out = denoiser(latents, encoder_hidden_states=text['embeds'],
                           encoder_attention_mask=text['mask'],
                           timestep=timesteps,
                           added_cond_kwargs=dict(resolution=None,
                                                  aspect_ratio=None)).sample
            return out[:, :latents.shape[1]]
        return denoiser(latents, timesteps,
                        encoder_hidden_states=text['embeds']).sample

    def _captions(self, data_samples: Sequence):
        captions = []
        for i, sample in enumerate(data_samples):
            caption = getattr(sample, 'caption', None)
            if caption is None:
                raise KeyError(f'TextToImagePretrainer: data_samples[{i}] '
                               'has no caption')
            if self.training and \
                    self._caption_rng.random() < self.caption_dropout:
                caption = ''
            captions.append(caption)
        return captions

    def loss(self, inputs, data_samples) -> Dict[str, torch.Tensor]:
        latents = self.encode_images(inputs)
        with torch.no_grad():
            text = self.text_encoder.encode(self._captions(data_samples))
        noise = torch.randn_like(latents)
        num_train = self.train_scheduler.config.num_train_timesteps
        timesteps = torch.randint(0, num_train, (latents.shape[0], ),
                                  device=latents.device)
        noisy = self.train_scheduler.add_noise(latents, noise, timesteps)
        if self.prediction_type == 'epsilon':
            target = noise
        elif self.prediction_type == 'v_prediction':
            target = self.train_scheduler.get_velocity(latents, noise,
                                                       timesteps)
        else:
            target = latents
        pred = self.predict_noise(self.denoiser, noisy, timesteps, text)
        return dict(loss_diffusion=F.mse_loss(pred.float(), target.float()))

    def train_step(self, data, optim_wrapper):
        log_vars = super().train_step(data, optim_wrapper)
        if self.ema is not None:
            self.ema.update_parameters(self.denoiser)
        return log_vars

    def export(self, out_dir: str, use_ema: bool = True) -> str:
        """Save the denoiser (its EMA when there is one and ``use_ema``)
        as a diffusers folder (``config.json`` + safetensors)."""
        from .export import save_pretrained_atomic
        module = self.ema.module if (use_ema and self.ema is not None) \
            else self.denoiser
        return save_pretrained_atomic(module, out_dir)

    def _forward(self, inputs, data_samples=None):
        """The network work of one training step without the random
        draws: latents of ``inputs`` (B, 3, H, W) in [-1, 1], the
        denoiser's prediction at t = 500 for the samples' captions (empty
        ones without samples); (B, C, H/f, W/f). What ``get_flops`` counts.
        """
        latents = self.encode_images(inputs)
        captions = [getattr(s, 'caption', '') or '' for s in data_samples] \
            if data_samples else [''] * len(inputs)
        with torch.no_grad():
            text = self.text_encoder.encode(captions)
        timesteps = torch.full((len(inputs), ), 500, dtype=torch.long,
                               device=latents.device)
        return self.predict_noise(self.denoiser, latents, timesteps, text)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise ValueError(f'TextToImagePretrainer: mode {mode!r} is not '
                         'supported; evaluate with '
                         'tools/analysis_tools/eval_tiny_family.py')
