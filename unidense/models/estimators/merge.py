"""MERGE: a frozen text-to-image DiT that also estimates depth.

Lin et al., "More Than Generation: Unifying Generation and Depth Estimation
via Text-to-Image Diffusion Models", NeurIPS 2025. MERGE-B = PixArt-alpha +
14 grouped converters (epsilon target, DDPM), MERGE-L = FLUX.1-dev + 5 + 5
converters (flow-matching target).
"""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch

from unidense.diffusion.schedulers import as_scheduler
from unidense.registry import MODELS
from unidense.structures import stack_pixel_field
from unidense.utils.vector_ops import unit_vectors
from .base_dense_estimator import BaseDenseEstimator
from .converter_sets import ConverterSetsMixin

MODES = ConverterSetsMixin.MODES
TASKS = ConverterSetsMixin.TASKS
# target and validity fields per task
_TASK_FIELDS = {'depth': ('gt_depth_norm', 'gt_depth_valid'),
                'normal': ('gt_normal', 'gt_normal_valid')}
PREDICTION_TYPES = ('epsilon', 'v_prediction', 'flow')


@MODELS.register_module()
class MERGE(ConverterSetsMixin, BaseDenseEstimator):
    """Unified text-to-image generation and depth estimation (MERGE).

    A frozen DiT text-to-image model (``backbone``: :class:`PixArtDiT` or
    :class:`FluxDiT`) plus trainable :class:`GroupedConverters`
    (``fusion``). ``mode='t2i'`` calls the untouched frozen transformer
    (:meth:`generate`, diffusers' own pipeline via
    :func:`~unidense.pipelines.generate_images`); ``mode='depth'`` runs the
    converters (:meth:`loss`, :meth:`predict`). :meth:`set_mode` switches
    without reloading anything. Forward dispatch, freezing, prompt caching,
    processing resolution and evaluation seeding come from
    :class:`BaseDenseEstimator`.

    Depth (Marigold recipe): the affine-normalised depth ``gt_depth_norm``
    in [-1, 1] and the RGB image are VAE-encoded (``codec``); the noisy depth
    latent is concatenated with the RGB latent (PixArt: [RGB, depth] along
    channels; FLUX: [depth, RGB] then 2x2-packed to 128-d tokens) and
    denoised with the empty prompt.

    Args:
        backbone: frozen DiT config (``PixArtDiT`` / ``FluxDiT``).
        fusion: ``GroupedConverters`` config; ``backbone`` is filled in.
            Its ``denoise(noisy, rgb, t, text, guidance)`` hides the token
            layout (PixArt channels, FLUX 2x2 packing).
        codec: ``LatentCodec`` config (frozen VAE).
        text_encoder: ``TextEncoder`` config (frozen); the empty prompt is
            encoded once and cached.
        train_scheduler: noise scheduler for the forward process (DDPM 1000
            for MERGE-B, FlowMatchEulerDiscrete for MERGE-L).
        test_scheduler: scheduler for depth sampling (default: a copy of
            ``train_scheduler``).
        t2i_scheduler: scheduler for :meth:`generate` (default:
            ``test_scheduler``).
        prediction_type: 'epsilon' (B), 'v_prediction' or 'flow' (L: the
            target is noise - x0 and the noisy input (1 - s) x0 + s noise).
        multi_res_noise: ``dict(strength=0.9, annealed=True,
            downscale_strategy='original')`` or None for Gaussian noise.
        loss_mask: restrict the MSE to latent cells whose whole
            ``latent stride`` x ``latent stride`` pixel block is valid
            (max-pool of the invalid mask; MERGE-B). False for MERGE-L.
        prompt: the conditioning prompt ('' in the paper).
        num_inference_steps: depth denoising steps (20 as the released code).
        ensemble_size: depth samples per image, merged by
            Marigold's ensembling (affine-align members, median; 1 = none).
        processing_res: long side the image is resized to (0/None: input
            size; rounded to latent stride x token size), or a dict per
            ``protocol``, e.g. Marigold's ``dict(default=0, diode=640,
            eth3d=756)``; see :class:`BaseDenseEstimator`.
        guidance: FLUX guidance value fed to the guidance embedder in depth
            mode (0 as the official code).
        mode: initial mode, 'depth' or 't2i'.
        task: 'depth' or 'normal' (MERGE's extension: unit normals as
            3-channel VAE latents; ``pred_normal`` = renormalised mean).
        eval_seed: each image's starting noise is seeded with ``eval_seed +
            sample_idx`` (``dist_test.sh`` equals ``test.py``); None: global.
        train_seed: if set, each sample's timestep and noise come from a
            generator seeded with (``train_seed``, iteration, ``sample_idx``)
            (multi-resolution noise then normalised per sample); None
            (default) draws per batch from the global state, as the official
            code.
        data_preprocessor: e.g. ``DenseDataPreprocessor``.
    """

    def __init__(self,
                 backbone: dict,
                 fusion: dict,
                 codec: dict,
                 text_encoder: dict,
                 train_scheduler: dict,
                 test_scheduler: Optional[dict] = None,
                 t2i_scheduler: Optional[dict] = None,
                 prediction_type: str = 'epsilon',
                 multi_res_noise: Optional[dict] = None,
                 loss_mask: bool = True,
                 prompt: str = '',
                 num_inference_steps: int = 20,
                 ensemble_size: int = 1,
                 processing_res: Optional[int] = None,
                 guidance: float = 0.0,
                 mode: str = 'depth',
                 task: str = 'depth',
                 eval_seed: Optional[int] = 0,
                 train_seed: Optional[int] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(prompt=prompt, processing_res=processing_res,
                         eval_seed=eval_seed, train_seed=train_seed,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(f'MERGE: prediction_type={prediction_type!r}, '
                             f'expected one of {PREDICTION_TYPES}')
        self.backbone = self.build_part(backbone)
        self.fusion = MODELS.build(dict(fusion, backbone=self.backbone))
        self.codec = self.build_part(codec)
        self.text_encoder = self.build_part(text_encoder)
        # frozen means frozen: only the fusion trains
        self.freeze_parts('backbone', 'codec', 'text_encoder')
        self.train_scheduler = as_scheduler(train_scheduler)
        self.test_scheduler = (as_scheduler(test_scheduler)
                               or copy.deepcopy(self.train_scheduler))
        self.t2i_scheduler = (as_scheduler(t2i_scheduler)
                              or copy.deepcopy(self.test_scheduler))
        if prediction_type not in self.backbone.prediction_types:
            raise ValueError(
                f'MERGE: prediction_type={prediction_type!r} does not fit the '
                f'{type(self.backbone).__name__} backbone, trained for '
                f'{self.backbone.prediction_types} (FLUX trains with '
                f"'flow', PixArt with 'epsilon'/'v_prediction')")
        self.prediction_type = prediction_type
        self.multi_res_noise = (dict(multi_res_noise)
                                if multi_res_noise else None)
        self.loss_mask = loss_mask
        self.num_inference_steps = int(num_inference_steps)
        self.ensemble_size = int(ensemble_size)
        self.guidance = guidance
        if task not in TASKS:
            raise ValueError(f'MERGE: task={task!r}, expected one of {TASKS}')
        self.task = task
        # named converter sets (plain tensors, not parameters: they do not
        # train and stay out of checkpoints); the fusion holds the active one
        self.init_converter_sets()
        self.set_mode(mode)

    # --------------------------------------------------------------- helpers
    @property
    def latent_stride(self) -> int:
        return int(self.codec.downsample_factor)

    @property
    def size_multiple(self) -> int:
        """Pixel sizes must be multiples of this (latent stride x token)."""
        return self.latent_stride * self.backbone.token_size

    def _noise(self, z0, timesteps, generator=None):
        if self.multi_res_noise is None:
            return torch.randn(z0.shape, generator=generator,
                               device=z0.device, dtype=z0.dtype)
        from unidense.diffusion.multi_res_noise import multi_res_noise_like
        cfg = dict(self.multi_res_noise)
        annealed = cfg.pop('annealed', True)
        return multi_res_noise_like(
            z0, timesteps=timesteps if annealed else None,
            num_train_timesteps=self.train_scheduler.config.
            num_train_timesteps, generator=generator, **cfg)

    def _per_sample_draws(self, z_depth, data_samples, num_train):
        """(B,) timesteps and (B, C, h, w) noise from per-sample
        generators (:meth:`train_generators`)."""
        ts, noises = [], []
        for i, gen in enumerate(self.train_generators(data_samples)):
            ts.append(torch.randint(0, num_train, (1, ), generator=gen))
            noises.append(self._noise(
                torch.zeros_like(z_depth[i:i + 1], device='cpu'), ts[-1],
                gen))
        return torch.cat(ts).to(z_depth.device), torch.cat(noises).to(z_depth)

    def denoiser(self, latent: torch.Tensor, cond: torch.Tensor,
                 timestep: torch.Tensor, text: Dict) -> torch.Tensor:
        """One depth-mode network call.

        ``latent`` (B, C, h, w) noisy depth latent, ``cond`` (B, C, h, w)
        RGB latent, ``timestep`` (B,) in the backbone's convention (PixArt:
        step in [0, 1000); FLUX: sigma in [0, 1]), ``text`` from
        :meth:`encode_prompt` -> (B, C, h, w) epsilon / v / velocity.
        """
        return self.fusion.denoise(latent, cond, timestep, text,
                                   guidance=self.guidance)

    # ------------------------------------------------------------------ loss
    def _encode_targets(self, inputs, data_samples):
        """RGB and target latents (B, C, h, w) in the converters' dtype."""
        field = _TASK_FIELDS[self.task][0]
        target = stack_pixel_field(data_samples, field)
        if target is None:
            hint = ('add NormalizeDepth to the train pipeline'
                    if self.task == 'depth' else 'add LoadNormal')
            raise KeyError(f'MERGE.loss (task={self.task!r}): the samples '
                           f'have no {field}; {hint}')
        if target.shape[-2:] != inputs.shape[-2:]:
            raise ValueError(
                f'MERGE.loss: {field} {tuple(target.shape)} and inputs '
                f'{tuple(inputs.shape)} differ in size; resize both in the '
                f'pipeline')
        target = target.to(inputs.device).float()
        with torch.no_grad():
            gens = self.posterior_generators(data_samples)
            z_rgb = self.codec.encode_rgb(inputs, gens)
            z_target = (self.codec.encode_depth(target, gens) if self.task ==
                        'depth' else self.codec.encode_normal(target, gens))
        dtype = self.compute_param().dtype
        return z_rgb.to(dtype), z_target.to(dtype)

    def _masked_mse(self, pred, target, inputs, data_samples):
        from unidense.diffusion.latent_loss import masked_latent_mse
        valid = stack_pixel_field(data_samples, _TASK_FIELDS[self.task][1])
        if valid is None and self.task == 'normal':   # zero vector: invalid
            valid = stack_pixel_field(data_samples, 'gt_normal').abs().sum(
                1, keepdim=True) > 0
        return masked_latent_mse(pred, target,
                                 valid if self.loss_mask else None,
                                 self.latent_stride)

    def loss(self, inputs: torch.Tensor, data_samples: Sequence) -> Dict:
        """Denoising loss of the depth (or normal) latent.

        Args:
            inputs: (B, 3, H, W) RGB in [-1, 1], H and W multiples of the
                latent stride (8).
            data_samples: samples with ``gt_depth_norm`` (1, H, W) in
                [-1, 1] and optionally ``gt_depth_valid`` (1, H, W) bool;
                task 'normal': ``gt_normal`` (3, H, W) unit vectors (zero =
                invalid) and optionally ``gt_normal_valid``.

        Returns:
            dict(loss_mse=scalar).
        """
        self._require('depth', 'loss')
        z_rgb, z_depth = self._encode_targets(inputs, data_samples)
        b = z_depth.shape[0]
        num_train = self.train_scheduler.config.num_train_timesteps
        if self.train_seed is None:
            t = torch.randint(0, num_train, (b, ), device=z_depth.device)
            noise = self._noise(z_depth, t)
        else:
            t, noise = self._per_sample_draws(z_depth, data_samples,
                                              num_train)
        text = self.encode_prompt(b)
        if self.prediction_type == 'flow':
            # sigma on the unshifted training grid, as the official trainer
            sigma = (t.float() + 1) / num_train
            s = sigma.to(z_depth.dtype).view(-1, 1, 1, 1)
            noisy = (1 - s) * z_depth + s * noise
            target = noise - z_depth
            pred = self.denoiser(noisy, z_rgb, sigma.to(z_depth.dtype), text)
        else:
            noisy = self.train_scheduler.add_noise(z_depth, noise, t)
            target = (noise if self.prediction_type == 'epsilon' else
                      self.train_scheduler.get_velocity(z_depth, noise, t))
            pred = self.denoiser(noisy, z_rgb, t, text)
        return dict(
            loss_mse=self._masked_mse(pred, target, inputs, data_samples))

    # -------------------------------------------------------------- sampling
    def _timestep_kwargs(self, steps, z_rgb):
        if self.prediction_type != 'flow':
            return None
        from unidense.pipelines import flow_match_timestep_kwargs
        h, w = z_rgb.shape[-2:]
        size = self.backbone.token_size
        return flow_match_timestep_kwargs(self.test_scheduler, steps,
                                          (h // size) * (w // size))

    @torch.no_grad()
    def sample_depth_latent(self, z_rgb: torch.Tensor,
                            num_inference_steps: Optional[int] = None,
                            ensemble_size: int = 1,
                            generator: Optional[torch.Generator] = None,
                            init_latents: Optional[torch.Tensor] = None
                            ) -> torch.Tensor:
        """Denoise depth latents conditioned on RGB latents.

        Args:
            z_rgb: (B, C, h, w) RGB latent.
            init_latents: (B * ensemble_size, C, h, w) starting noise
                (image-major) instead of drawing it from ``generator``.

        Returns:
            (B * ensemble_size, C, h, w) clean depth latents, image-major.
        """
        from unidense.pipelines import sample_depth_latents
        self._require('depth', 'sample_depth_latent')
        steps = int(num_inference_steps or self.num_inference_steps)

        def denoise(noisy, cond, t):
            t = self.backbone.timestep_from_scheduler(t)
            return self.denoiser(noisy, cond, t,
                                 self.encode_prompt(noisy.shape[0]))

        return sample_depth_latents(
            denoise, z_rgb, self.test_scheduler, num_inference_steps=steps,
            ensemble_size=ensemble_size, generator=generator,
            init_latents=init_latents,
            timestep_kwargs=self._timestep_kwargs(steps, z_rgb))

    @torch.no_grad()
    def estimate_depth(self, inputs: torch.Tensor,
                       num_inference_steps: Optional[int] = None,
                       ensemble_size: Optional[int] = None,
                       generator: Optional[torch.Generator] = None,
                       processing_res: Optional[int] = None,
                       noise_seeds: Optional[Sequence[int]] = None
                       ) -> torch.Tensor:
        """Relative depth of RGB images.

        Args:
            inputs: (B, 3, H, W) RGB in [-1, 1].
            processing_res: overrides ``self.processing_res`` (an int).
            noise_seeds: one seed per image for its starting noise (all its
                ensemble members); overrides ``generator``.

        Returns:
            (B, 1, H, W) relative depth in [0, 1] (0 near, 1 far) at the
            input size (processed at ``processing_res``, resized back);
            task 'normal': (B, 3, H, W) unit normals (ensemble mean,
            renormalised).
        """
        from unidense.pipelines import (depth_to_unit_range, ensemble_depth,
                                        restore_to_input_size)
        if inputs.dim() != 4 or inputs.shape[1] != 3:
            raise ValueError(f'MERGE.estimate_depth: inputs must be (B, 3, H,'
                             f' W) in [-1, 1], got {tuple(inputs.shape)}')
        x, size = self.resize_for_processing(inputs, processing_res)
        z_rgb = self.codec.encode_rgb(x).to(self.compute_param().dtype)
        n = int(ensemble_size or self.ensemble_size)
        init = None
        if noise_seeds is not None:
            if len(noise_seeds) != len(z_rgb):
                raise ValueError(f'MERGE.estimate_depth: {len(noise_seeds)} '
                                 f'noise_seeds for {len(z_rgb)} images')
            init = self.seeded_noise(noise_seeds,
                                     (n, ) + tuple(z_rgb.shape[1:]), z_rgb)
        z = self.sample_depth_latent(z_rgb, num_inference_steps, n,
                                     generator, init_latents=init)
        if self.task == 'normal':
            normals = self.codec.decode_normal(z).float()
            normals = normals.view(-1, n, *normals.shape[1:]).mean(1)
            return unit_vectors(restore_to_input_size(normals, size), dim=1,
                               eps=1e-6)
        d = depth_to_unit_range(self.codec.decode_depth(z).float())
        if n > 1:
            d = d.view(-1, n, *d.shape[1:])
            d = torch.stack([ensemble_depth(m)[0][0] for m in d])
        return restore_to_input_size(d, size)

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[Sequence] = None) -> List:
        """Depth for a batch; sets ``pred_depth`` (1, H, W) at ``ori_shape``.

        Values are affine-invariant relative depth in [0, 1]; metrics align
        them to the ground truth (least squares in depth space).
        """
        self._require('depth', 'predict')
        maps = self.estimate_depth(
            inputs, processing_res=self.processing_res_for(data_samples),
            noise_seeds=self.eval_noise_seeds(data_samples, len(inputs)))
        if self.task == 'normal':
            return self.restore_predictions(maps, inputs.shape[-2:],
                                            data_samples, 'pred_normal',
                                            is_normal=True)
        return self.restore_predictions(maps, inputs.shape[-2:],
                                        data_samples, 'pred_depth')

    def _forward(self, inputs, data_samples=None):
        """Relative depth (B, 1, H, W) in [0, 1] at the input size."""
        return self.estimate_depth(inputs)

    # ------------------------------------------------------------------- t2i
    @torch.no_grad()
    def generate(self, prompts: Optional[Union[str, List[str]]] = None,
                 **kwargs) -> torch.Tensor:
        """Text-to-image with the untouched frozen DiT: diffusers' own
        ``PixArtAlphaPipeline`` / ``FluxPipeline`` on the frozen parts (the
        same seed and embeddings give its images bit for bit); arguments as
        :func:`~unidense.pipelines.generate_images`. (B, 3, H, W) in [0, 1].
        """
        from unidense.pipelines import generate_images
        self._require('t2i', 'generate')
        return generate_images(self.backbone.network, self.codec.vae,
                               self.text_encoder, self.t2i_scheduler,
                               prompts, **kwargs)
