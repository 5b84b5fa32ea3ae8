"""MERGE: a frozen text-to-image DiT that also estimates depth.

Lin et al., "More Than Generation: Unifying Generation and Depth Estimation
via Text-to-Image Diffusion Models", NeurIPS 2025. MERGE-B = PixArt-alpha +
14 grouped converters (epsilon target, DDPM), MERGE-L = FLUX.1-dev + 5 + 5
converters (flow-matching target).
"""
import copy
import inspect
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from unidense.registry import DIFFUSION_SCHEDULERS, MODELS
from unidense.structures import restore_to_original, stack_pixel_field

MODES = ('depth', 't2i')
PREDICTION_TYPES = ('epsilon', 'v_prediction', 'flow')


def _build_scheduler(cfg):
    if cfg is None or not isinstance(cfg, dict):
        return cfg
    return DIFFUSION_SCHEDULERS.build(cfg)


@MODELS.register_module()
class MERGE(BaseModel):
    """Unified text-to-image generation and depth estimation (MERGE).

    A frozen DiT text-to-image model (``backbone``: :class:`PixArtDiT` or
    :class:`FluxDiT`) plus trainable :class:`GroupedConverters`
    (``fusion``). ``mode='t2i'`` calls the untouched frozen transformer
    (:meth:`generate`); ``mode='depth'`` runs the converters (:meth:`loss`,
    :meth:`predict`). :meth:`set_mode` switches without reloading anything.

    Depth (Marigold recipe): the affine-normalised depth ``gt_depth_norm``
    in [-1, 1] and the RGB image are VAE-encoded (``codec``); the noisy depth
    latent is concatenated with the RGB latent (PixArt: [RGB, depth] along
    channels; FLUX: [depth, RGB] then 2x2-packed to 128-d tokens) and
    denoised with the empty prompt.

    Args:
        backbone: frozen DiT config (``PixArtDiT`` / ``FluxDiT``).
        fusion: ``GroupedConverters`` config; ``backbone`` is filled in.
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
        processing_res: long side (pixels) the image is resized to for
            depth estimation; 0/None = the input size. Either way the size is
            rounded to a multiple of the latent stride x patch size and the
            prediction is restored to ``ori_shape``. A dict maps a sample's
            ``protocol`` (or ``dataset_name``) meta key to a value, with
            ``'default'`` for the rest, e.g. Marigold's
            ``dict(default=0, diode=640, eth3d=756)``.
        guidance: FLUX guidance value fed to the guidance embedder in depth
            mode (0 as the official code).
        mode: initial mode, 'depth' or 't2i'.
        eval_seed: :meth:`predict` draws each image's starting noise from a
            generator seeded with ``eval_seed + sample_idx``, so a score
            does not depend on the global random state, the batch size or
            the number of processes (``dist_test.sh`` equals ``test.py``).
            None uses the global random state.
        train_seed: if set, :meth:`loss` draws each sample's timestep and
            noise from a generator seeded with (``train_seed``, training
            iteration, ``sample_idx``) instead of the global random state,
            so training on N processes with batch B/N gives the same weights
            as one process with batch B (the multi-resolution noise is then
            normalised per sample rather than per batch). None (default)
            draws per batch from the global state, as the official code.
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
                 eval_seed: Optional[int] = 0,
                 train_seed: Optional[int] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if isinstance(data_preprocessor, dict):
            # built from unidense's registry so that the model also builds
            # outside a runner (no default scope set)
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(f'MERGE: prediction_type={prediction_type!r}, '
                             f'expected one of {PREDICTION_TYPES}')
        self.backbone = (MODELS.build(backbone)
                         if isinstance(backbone, dict) else backbone)
        fusion = dict(fusion)
        fusion['backbone'] = self.backbone
        self.fusion = MODELS.build(fusion)
        self.codec = MODELS.build(codec) if isinstance(codec, dict) else codec
        self.text_encoder = (MODELS.build(text_encoder) if isinstance(
            text_encoder, dict) else text_encoder)
        self.is_flux = self.fusion.kind == 'flux'
        self.train_scheduler = _build_scheduler(train_scheduler)
        self.test_scheduler = (_build_scheduler(test_scheduler)
                               or copy.deepcopy(self.train_scheduler))
        self.t2i_scheduler = (_build_scheduler(t2i_scheduler)
                              or copy.deepcopy(self.test_scheduler))
        self.prediction_type = prediction_type
        if self.is_flux != (prediction_type == 'flow'):
            raise ValueError(
                f'MERGE: prediction_type={prediction_type!r} does not fit the '
                f'{"FLUX" if self.is_flux else "PixArt"} backbone (FLUX '
                f"trains with 'flow', PixArt with 'epsilon'/'v_prediction')")
        self.multi_res_noise = (dict(multi_res_noise)
                                if multi_res_noise else None)
        self.loss_mask = loss_mask
        self.prompt = prompt
        self.num_inference_steps = int(num_inference_steps)
        self.ensemble_size = int(ensemble_size)
        self.eval_seed = eval_seed
        self.train_seed = train_seed
        self.processing_res = processing_res
        self.guidance = guidance
        self._text_cache = {}
        # frozen means frozen: only the converters train
        for part in (self.backbone, self.codec, self.text_encoder):
            part.requires_grad_(False)
        self.set_mode(mode)

    # ------------------------------------------------------------------ mode
    def set_mode(self, mode: str) -> 'MERGE':
        """'t2i' (frozen text-to-image model) or 'depth' (converters)."""
        if mode not in MODES:
            raise ValueError(f'MERGE.set_mode: mode={mode!r}, expected one '
                             f'of {MODES}')
        self.mode = mode
        return self

    def _require(self, mode, what):
        if self.mode != mode:
            raise RuntimeError(f'MERGE.{what} needs mode={mode!r}, the model '
                               f'is in mode={self.mode!r}; call '
                               f"set_mode('{mode}') first")

    def init_weights(self):
        # every part is initialised at build time (pretrained weights, the
        # converters' copies); mmengine's recursive init must not touch them
        if self.init_cfg is not None:
            super().init_weights()

    def train(self, mode: bool = True):
        super().train(mode)
        for part in (self.backbone, self.codec, self.text_encoder):
            part.eval()
        return self

    # --------------------------------------------------------------- helpers
    @property
    def latent_stride(self) -> int:
        return int(self.codec.downsample_factor)

    @property
    def size_multiple(self) -> int:
        """Pixel sizes must be multiples of this (latent stride x patch)."""
        patch = 2 if self.is_flux else self.backbone.patch_size
        return self.latent_stride * patch

    @property
    def latent_channels(self) -> int:
        return int(self.codec.latent_channels)

    def _param(self):
        return next(self.fusion.parameters())

    def encode_prompt(self, batch_size: int) -> Dict[str, torch.Tensor]:
        """The cached conditioning prompt, expanded to ``batch_size``.

        Returns dict(embeds (B, L, D), mask (B, L) or None, pooled (B, P) or
        None) on the model's device and dtype.
        """
        p = self._param()
        key = (p.device, p.dtype)
        if key not in self._text_cache:
            enc = self.text_encoder.encode([self.prompt])
            self._text_cache[key] = {
                k: None if v is None else
                v.to(p.device, p.dtype if v.is_floating_point() else v.dtype)
                for k, v in enc.items()
            }
        out = {}
        for k, v in self._text_cache[key].items():
            out[k] = None if v is None else v.expand(batch_size,
                                                     *v.shape[1:])
        return out

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
        """(B,) timesteps and (B, C, h, w) noise, each sample from its own
        CPU generator seeded by (train_seed, iteration, sample_idx)."""
        from mmengine.logging import MessageHub
        it = int(MessageHub.get_current_instance().get_info('iter', 0) or 0)
        ts, noises = [], []
        for i, sample in enumerate(data_samples):
            idx = int(sample.metainfo.get('sample_idx', i) or 0)
            gen = torch.Generator().manual_seed(
                hash((int(self.train_seed), it, idx)) & 0x7FFFFFFFFFFF)
            t = torch.randint(0, num_train, (1, ), generator=gen)
            ts.append(t)
            noises.append(self._noise(
                torch.zeros_like(z_depth[i:i + 1], device='cpu'), t, gen))
        t = torch.cat(ts).to(z_depth.device)
        return t, torch.cat(noises).to(z_depth)

    def denoiser(self, latent: torch.Tensor, cond: torch.Tensor,
                 timestep: torch.Tensor, text: Dict) -> torch.Tensor:
        """One depth-mode network call.

        Args:
            latent: (B, C, h, w) noisy depth latent.
            cond: (B, C, h, w) RGB latent.
            timestep: (B,) PixArt: integer timestep in [0, 1000); FLUX: sigma
                in [0, 1].
            text: :meth:`encode_prompt` output.

        Returns:
            (B, C, h, w) prediction (epsilon / v / flow velocity).
        """
        b, c, h, w = latent.shape
        if not self.is_flux:
            out = self.fusion(torch.cat([cond, latent], dim=1), timestep,
                              text['embeds'], text['mask'],
                              added_cond_kwargs=dict(resolution=None,
                                                     aspect_ratio=None))
            return out[:, :c]
        bb = self.backbone
        tokens = bb.pack_latents(torch.cat([latent, cond], dim=1))
        img_ids = bb.latent_image_ids(h, w, latent.device, latent.dtype)
        txt_ids = torch.zeros(text['embeds'].shape[1], 3,
                              device=latent.device, dtype=latent.dtype)
        guidance = None
        if getattr(bb, 'guidance_embeds', False):
            guidance = torch.full((b, ), float(self.guidance),
                                  device=latent.device, dtype=torch.float32)
        out = self.fusion(tokens, timestep, text['embeds'], text['pooled'],
                          img_ids, txt_ids, guidance=guidance)
        return bb.unpack_latents(out, h, w)

    # ------------------------------------------------------------------ loss
    def loss(self, inputs: torch.Tensor, data_samples: Sequence) -> Dict:
        """Denoising loss of the depth latent.

        Args:
            inputs: (B, 3, H, W) RGB in [-1, 1], H and W multiples of the
                latent stride (8).
            data_samples: samples with ``gt_depth_norm`` (1, H, W) in
                [-1, 1] and optionally ``gt_depth_valid`` (1, H, W) bool.

        Returns:
            dict(loss_mse=scalar).
        """
        self._require('depth', 'loss')
        depth = stack_pixel_field(data_samples, 'gt_depth_norm')
        if depth is None:
            raise KeyError('MERGE.loss: the samples have no gt_depth_norm; '
                           'add NormalizeDepth to the train pipeline')
        if depth.shape[-2:] != inputs.shape[-2:]:
            raise ValueError(
                f'MERGE.loss: gt_depth_norm {tuple(depth.shape)} and inputs '
                f'{tuple(inputs.shape)} differ in size; resize both in the '
                f'pipeline')
        depth = depth.to(inputs.device)
        with torch.no_grad():
            z_rgb = self.codec.encode_rgb(inputs)
            z_depth = self.codec.encode_depth(depth.float())
        p = self._param()
        z_rgb, z_depth = z_rgb.to(p.dtype), z_depth.to(p.dtype)
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
        sq = (pred.float() - target.float())**2
        valid = stack_pixel_field(data_samples, 'gt_depth_valid')
        if self.loss_mask and valid is not None:
            invalid = (~valid.to(inputs.device).bool()).float()
            f = self.latent_stride
            # a latent cell counts only if all f*f pixels under it are valid
            cell_invalid = F.max_pool2d(invalid, kernel_size=f, stride=f)
            mask = (cell_invalid < 0.5).expand_as(sq).float()
            loss = (sq * mask).sum() / mask.sum().clamp(min=1.0)
        else:
            loss = sq.mean()
        return dict(loss_mse=loss)

    # -------------------------------------------------------------- sampling
    def _timestep_kwargs(self, steps, z_rgb):
        if self.prediction_type != 'flow':
            return None
        from unidense.pipelines import flow_match_timestep_kwargs
        h, w = z_rgb.shape[-2:]
        return flow_match_timestep_kwargs(self.test_scheduler, steps,
                                          (h // 2) * (w // 2))

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
        text_cache = {}

        def denoise(noisy, cond, t):
            n = noisy.shape[0]
            if n not in text_cache:
                text_cache[n] = self.encode_prompt(n)
            if self.prediction_type == 'flow':
                t = t / 1000  # FluxDiT takes sigma in [0, 1]
            return self.denoiser(noisy, cond, t, text_cache[n])

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
            input size (processed at ``processing_res``, resized back).
        """
        from unidense.pipelines import (depth_to_unit_range,
                                        resize_to_processing_res,
                                        restore_to_input_size)
        from unidense.pipelines.depth_ensemble import ensemble_depth
        if inputs.dim() != 4 or inputs.shape[1] != 3:
            raise ValueError(f'MERGE.estimate_depth: inputs must be (B, 3, H,'
                             f' W) in [-1, 1], got {tuple(inputs.shape)}')
        if processing_res is None:
            processing_res = self.processing_res_for(None)
        x, size = resize_to_processing_res(
            inputs.float(), processing_res=int(processing_res or 0),
            multiple=self.size_multiple)
        z_rgb = self.codec.encode_rgb(x).to(self._param().dtype)
        n = int(ensemble_size or self.ensemble_size)
        init = None
        if noise_seeds is not None:
            if len(noise_seeds) != len(z_rgb):
                raise ValueError(f'MERGE.estimate_depth: {len(noise_seeds)} '
                                 f'noise_seeds for {len(z_rgb)} images')
            # drawn on the CPU so that a seed gives the same noise anywhere
            init = torch.cat([
                torch.randn((n, ) + tuple(z_rgb.shape[1:]),
                            generator=torch.Generator().manual_seed(int(s)))
                for s in noise_seeds]).to(z_rgb)
        z = self.sample_depth_latent(z_rgb, num_inference_steps, n,
                                     generator, init_latents=init)
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
        seeds = None
        if self.eval_seed is not None:
            seeds = [
                self.eval_seed + int(
                    (s.metainfo.get('sample_idx', i) if s is not None else i)
                    or 0)
                for i, s in enumerate(data_samples or [None] * len(inputs))
            ]
        depth = self.estimate_depth(
            inputs, processing_res=self.processing_res_for(data_samples),
            noise_seeds=seeds)
        if data_samples is None:
            from unidense.structures import DenseDataSample
            data_samples = [DenseDataSample() for _ in range(len(depth))]
        for d, sample in zip(depth, data_samples):
            sample.pred_depth = restore_to_original(d, sample.metainfo)
        return list(data_samples)

    def processing_res_for(self, data_samples) -> int:
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
            raise ValueError(f'MERGE: one batch mixes processing_res values '
                             f'{sorted(values)}; evaluate datasets in '
                             f'separate batches')
        return values.pop()

    def _forward(self, inputs, data_samples=None):
        """Relative depth (B, 1, H, W) in [0, 1] at the input size."""
        return self.estimate_depth(inputs)

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(f'MERGE.forward: invalid mode {mode!r}; expected '
                           f"'loss', 'predict' or 'tensor'")

    # ------------------------------------------------------------------- t2i
    @torch.no_grad()
    def generate(self,
                 prompts: Optional[Union[str, List[str]]] = None,
                 prompt_embeds: Optional[torch.Tensor] = None,
                 prompt_attention_mask: Optional[torch.Tensor] = None,
                 negative_prompt_embeds: Optional[torch.Tensor] = None,
                 negative_prompt_attention_mask: Optional[torch.Tensor] = None,
                 pooled_prompt_embeds: Optional[torch.Tensor] = None,
                 height: Optional[int] = None,
                 width: Optional[int] = None,
                 num_inference_steps: int = 20,
                 guidance_scale: float = 4.5,
                 generator: Optional[torch.Generator] = None,
                 eta: float = 0.0,
                 output_type: str = 'pt') -> torch.Tensor:
        """Text-to-image sampling with the untouched frozen DiT.

        PixArt follows diffusers' ``PixArtAlphaPipeline`` step for step (same
        noise draw, scheduler calls, guidance and learned-sigma split), FLUX
        follows ``FluxPipeline`` (packed noise, shifted sigmas, distilled
        guidance ``guidance_scale``, no true CFG), so that the same seed and
        text embeddings give bitwise identical images.

        Args:
            prompts: text prompts (encoded with ``text_encoder``; the
                negative prompt is ''), or give ``prompt_embeds`` (B, L, D)
                and ``prompt_attention_mask`` (B, L) directly (and the
                negative ones when ``guidance_scale > 1``).
            pooled_prompt_embeds: FLUX only, (B, P) pooled CLIP embedding
                given with ``prompt_embeds``.
            height, width: pixels (default: sample_size x latent stride;
                FLUX: 1024).
            output_type: 'pt' -> (B, 3, H, W) in [0, 1]; 'latent' -> the
                final (B, C, H/8, W/8) latent.
        """
        self._require('t2i', 'generate')
        if self.is_flux:
            return self._generate_flux(
                prompts, prompt_embeds, pooled_prompt_embeds, height, width,
                num_inference_steps, guidance_scale, generator, output_type)
        from diffusers.utils.torch_utils import randn_tensor
        tf = self.backbone.transformer
        cfg_guidance = guidance_scale > 1.0
        if prompt_embeds is None:
            if prompts is None:
                raise ValueError('MERGE.generate: give prompts or '
                                 'prompt_embeds')
            prompts = [prompts] if isinstance(prompts, str) else list(prompts)
            enc = self.text_encoder.encode(prompts)
            prompt_embeds, prompt_attention_mask = enc['embeds'], enc['mask']
            if cfg_guidance and negative_prompt_embeds is None:
                neg = self.text_encoder.encode([''] * len(prompts))
                negative_prompt_embeds = neg['embeds']
                negative_prompt_attention_mask = neg['mask']
        if cfg_guidance and negative_prompt_embeds is None:
            raise ValueError('MERGE.generate: guidance_scale > 1 needs '
                             'negative_prompt_embeds with prompt_embeds')
        device = prompt_embeds.device
        dtype = tf.dtype
        prompt_embeds = prompt_embeds.to(dtype=dtype, device=device)
        mask = prompt_attention_mask
        if mask is None:
            mask = torch.ones(prompt_embeds.shape[:2], device=device,
                              dtype=torch.long)
        batch = prompt_embeds.shape[0]
        if cfg_guidance:
            negative_prompt_embeds = negative_prompt_embeds.to(dtype=dtype,
                                                               device=device)
            neg_mask = negative_prompt_attention_mask
            if neg_mask is None:
                neg_mask = torch.ones(negative_prompt_embeds.shape[:2],
                                      device=device, dtype=mask.dtype)
            prompt_embeds = torch.cat([negative_prompt_embeds, prompt_embeds])
            mask = torch.cat([neg_mask, mask])
        stride = self.latent_stride
        height = height or tf.config.sample_size * stride
        width = width or tf.config.sample_size * stride
        sched = copy.deepcopy(self.t2i_scheduler)
        sched.set_timesteps(num_inference_steps, device=device)
        timesteps = sched.timesteps
        channels = tf.config.in_channels
        latents = randn_tensor(
            (batch, channels, int(height) // stride, int(width) // stride),
            generator=generator, device=device, dtype=prompt_embeds.dtype)
        latents = latents * sched.init_noise_sigma
        step_params = set(inspect.signature(sched.step).parameters)
        step_kwargs = {}
        if 'eta' in step_params:
            step_kwargs['eta'] = eta
        if 'generator' in step_params:
            step_kwargs['generator'] = generator
        added = dict(resolution=None, aspect_ratio=None)
        if tf.config.sample_size == 128:
            res = torch.tensor([height, width]).repeat(batch, 1).to(
                dtype=prompt_embeds.dtype, device=device)
            ar = torch.tensor([float(height / width)]).repeat(batch, 1).to(
                dtype=prompt_embeds.dtype, device=device)
            if cfg_guidance:
                res, ar = torch.cat([res, res]), torch.cat([ar, ar])
            added = dict(resolution=res, aspect_ratio=ar)
        if hasattr(sched, 'set_begin_index'):
            sched.set_begin_index(0)
        for t in timesteps:
            model_in = torch.cat([latents] * 2) if cfg_guidance else latents
            model_in = sched.scale_model_input(model_in, t)
            current = t
            if not torch.is_tensor(current):
                current = torch.tensor([current], device=device)
            elif current.dim() == 0:
                current = current[None].to(model_in.device)
            current = current.expand(model_in.shape[0])
            pred = tf(model_in, encoder_hidden_states=prompt_embeds,
                      encoder_attention_mask=mask, timestep=current,
                      added_cond_kwargs=added, return_dict=False)[0]
            if cfg_guidance:
                uncond, cond = pred.chunk(2)
                pred = uncond + guidance_scale * (cond - uncond)
            if tf.config.out_channels // 2 == channels:
                pred = pred.chunk(2, dim=1)[0]
            out = sched.step(pred, t, latents, **step_kwargs,
                             return_dict=False)
            latents = out[1] if num_inference_steps == 1 else out[0]
        if output_type == 'latent':
            return latents
        image = self.codec.decode_rgb(latents)
        return (image / 2 + 0.5).clamp(0, 1)

    def _generate_flux(self, prompts, prompt_embeds, pooled_prompt_embeds,
                       height, width, num_inference_steps, guidance_scale,
                       generator, output_type):
        from diffusers.pipelines.flux.pipeline_flux import calculate_shift
        from diffusers.utils.torch_utils import randn_tensor
        bb = self.backbone
        tf = bb.transformer
        if prompt_embeds is None:
            if prompts is None:
                raise ValueError('MERGE.generate: give prompts or '
                                 'prompt_embeds + pooled_prompt_embeds')
            prompts = [prompts] if isinstance(prompts, str) else list(prompts)
            enc = self.text_encoder.encode(prompts)
            prompt_embeds, pooled_prompt_embeds = enc['embeds'], enc['pooled']
        if pooled_prompt_embeds is None:
            raise ValueError('MERGE.generate: FLUX needs '
                             'pooled_prompt_embeds (B, P) with prompt_embeds')
        device, dtype = prompt_embeds.device, prompt_embeds.dtype
        batch = prompt_embeds.shape[0]
        stride = self.latent_stride
        height, width = height or 1024, width or 1024
        # latent sides must be even for the 2x2 packing
        h = 2 * (int(height) // (stride * 2))
        w = 2 * (int(width) // (stride * 2))
        channels = tf.config.in_channels // 4
        latents = randn_tensor((batch, channels, h, w), generator=generator,
                               device=device, dtype=dtype)
        latents = bb.pack_latents(latents)
        img_ids = bb.latent_image_ids(h, w, device, dtype)
        txt_ids = torch.zeros(prompt_embeds.shape[1], 3, device=device,
                              dtype=dtype)
        sched = copy.deepcopy(self.t2i_scheduler)
        cfg = sched.config
        sigmas = np.linspace(1.0, 1 / num_inference_steps,
                             num_inference_steps)
        mu = calculate_shift(latents.shape[1],
                             cfg.get('base_image_seq_len', 256),
                             cfg.get('max_image_seq_len', 4096),
                             cfg.get('base_shift', 0.5),
                             cfg.get('max_shift', 1.15))
        sched.set_timesteps(sigmas=sigmas, device=device, mu=mu)
        guidance = None
        if tf.config.guidance_embeds:
            guidance = torch.full([1], guidance_scale, device=device,
                                  dtype=torch.float32).expand(batch)
        sched.set_begin_index(0)
        for t in sched.timesteps:
            timestep = t.expand(batch).to(latents.dtype)
            pred = tf(hidden_states=latents, timestep=timestep / 1000,
                      guidance=guidance,
                      pooled_projections=pooled_prompt_embeds,
                      encoder_hidden_states=prompt_embeds, txt_ids=txt_ids,
                      img_ids=img_ids, return_dict=False)[0]
            latents = sched.step(pred, t, latents, return_dict=False)[0]
        latents = bb.unpack_latents(latents, h, w)
        if output_type == 'latent':
            return latents
        image = self.codec.decode_rgb(latents)
        return (image / 2 + 0.5).clamp(0, 1)
