"""JointNet: a text-to-image UNet extended to joint RGB + dense maps.

Zhang et al., "JointNet: Extending Text-to-Image Diffusion for Dense
Distribution Modeling", ICLR 2024. The frozen RGB UNet (``backbone``) and a
trainable copy per joint modality, linked by zero convs
(:class:`~unidense.models.fusions.ZeroConvExchange`), denoise RGB and depth
(normal ...) latents together at one timestep. Joint generation,
channel-wise inpainting (depth estimation ``rgb2j``, depth-conditioned
generation ``j2rgb``), tiled panoramas and tiled refinement are sampling
procedures of the same model (``unidense/pipelines/joint_sampling.py``,
``tiled_denoising.py``).
"""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from unidense.diffusion.freezing import freeze, unmark_frozen
from unidense.diffusion.schedulers import as_scheduler
from unidense.registry import MODELS
from unidense.structures import stack_pixel_field
from unidense.utils.vector_ops import unit_vectors
from .base_dense_estimator import BaseDenseEstimator

# sample field of each modality's training target, in [-1, 1]
MODALITY_FIELDS = dict(depth='gt_depth_norm', normal='gt_normal')
MASK_KINDS = ('generate', 'keep', 'box')


@MODELS.register_module()
class JointNet(BaseDenseEstimator):
    """Joint RGB + dense-map diffusion (JointNet).

    Training (paper §3.4, §4.1): RGB and every modality are VAE-encoded
    (``codec``; depth as a grey image, normals as an RGB image), noised
    with independent noise (plus ``noise_offset`` x per-channel noise) at
    one shared timestep and denoised jointly; the loss is the sum of the
    per-branch MSEs to the scheduler's target (``loss_rgb`` +
    ``loss_<modality>``). Captions (``sample.caption``, else ``prompt``) are
    dropped to '' with probability ``caption_dropout``. Stage 1 trains the
    modality branches and every exchange conv (the RGB UNet frozen); stage
    2 (``train_rgb_branch=True``) trains the RGB UNet too. The inpainting
    model (fusion ``masked_input=True``) draws per-sample, per-branch masks
    (``mask_probs``) and conditions on them.

    Args:
        backbone: the RGB ``SDUNet`` config (frozen unless
            ``train_rgb_branch``).
        fusion: ``ZeroConvExchange`` config (``modalities``,
            ``masked_input``); ``backbone`` is filled in.
        codec: ``LatentCodec`` config (frozen VAE).
        text_encoder: ``TextEncoder`` config (frozen).
        train_scheduler: forward-process scheduler; its
            ``prediction_type`` is the training target (SD-2.1: epsilon;
            the tiny family: v_prediction).
        test_scheduler: sampler (default a copy of ``train_scheduler``;
            JointNet: DDIM, eta 0), same prediction type.
        train_rgb_branch: stage 2 / inpaint stage: the RGB UNet trains.
        caption_dropout: 0.15 (stage 1), 0.5 (stage 2 and inpaint).
        noise_offset: 0.05.
        mask_probs: inpainting model only: probability that a branch's
            mask is all-generate / all-keep / a random box (1 inside); a
            draw with every branch kept is redrawn.
        labellers: ``{modality: module config}`` producing the modality
            for samples that lack its field (caption-only image folders):
            called as ``labeller(inputs, mode='tensor')`` (a unidense
            estimator) or ``labeller(inputs)``; depth outputs (B, 1, H, W)
            are normalised per image to [-1, 1] with 2 %/98 % quantiles
            (MiDaS / DPT give disparity: the model then learns disparity,
            near = 1, as the official JointNet; evaluate it with
            ``alignment='least_squares_disparity'``).
        prompt: the prompt of dense estimation ('' by default).
        num_inference_steps: steps of :meth:`generate` / :meth:`inpaint`
            (50 in the paper).
        guidance_scale: CFG scale of generation (7.5).
        depth_steps, depth_guidance_scale: the same for
            :meth:`estimate_depth` (``tools/test.py``); guidance <= 1 runs
            no unconditional branch.
        ensemble_size: depth samples per image merged by Marigold's
            ensembling (1 = none).
        processing_res, eval_seed, train_seed, data_preprocessor: see
            :class:`BaseDenseEstimator`.
    """

    def __init__(self,
                 backbone: dict,
                 fusion: dict,
                 codec: dict,
                 text_encoder: dict,
                 train_scheduler: dict,
                 test_scheduler: Optional[dict] = None,
                 train_rgb_branch: bool = False,
                 caption_dropout: float = 0.15,
                 noise_offset: float = 0.05,
                 mask_probs: Optional[Dict[str, float]] = None,
                 labellers: Optional[Dict[str, dict]] = None,
                 prompt: str = '',
                 num_inference_steps: int = 50,
                 guidance_scale: float = 7.5,
                 depth_steps: int = 50,
                 depth_guidance_scale: float = 1.0,
                 ensemble_size: int = 1,
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
        self.fusion = MODELS.build(dict(fusion, backbone=self.backbone))
        self.codec = self.build_part(codec)
        self.text_encoder = self.build_part(text_encoder)
        self.freeze_parts('codec', 'text_encoder')
        self.train_rgb_branch = bool(train_rgb_branch)
        if self.train_rgb_branch:
            # stage 2: the RGB UNet the fusion froze is fine-tuned too
            unmark_frozen(self.backbone)
            self.backbone.requires_grad_(True)
            self.backbone.frozen = False
        for name in self.fusion.modalities:
            if name not in MODALITY_FIELDS:
                raise ValueError(f'JointNet: modality {name!r} has no '
                                 f'codec / field; known: '
                                 f'{sorted(MODALITY_FIELDS)}')
        self.train_scheduler = as_scheduler(train_scheduler)
        self.test_scheduler = (as_scheduler(test_scheduler)
                               or copy.deepcopy(self.train_scheduler))
        self.prediction_type = self.train_scheduler.config.prediction_type
        test_type = self.test_scheduler.config.prediction_type
        if test_type != self.prediction_type:
            raise ValueError(f'JointNet: train_scheduler predicts '
                             f'{self.prediction_type!r}, test_scheduler '
                             f'{test_type!r}; they must agree')
        self.caption_dropout = float(caption_dropout)
        self.noise_offset = float(noise_offset)
        probs = dict(mask_probs or dict(generate=0.5, keep=0.3, box=0.2))
        if set(probs) - set(MASK_KINDS) or sum(probs.values()) <= 0:
            raise ValueError(f'JointNet: mask_probs={probs} must weight '
                             f'{MASK_KINDS}')
        self.mask_probs = probs
        # built on first use (never for inference / meta-device counts) and
        # kept out of the state dict: frozen third-party labellers
        self.labeller_cfgs = dict(labellers or {})
        self._labellers = {}
        self.num_inference_steps = int(num_inference_steps)
        self.guidance_scale = float(guidance_scale)
        self.depth_steps = int(depth_steps)
        self.depth_guidance_scale = float(depth_guidance_scale)
        self.ensemble_size = int(ensemble_size)

    # ------------------------------------------------------------ helpers
    @property
    def modalities(self):
        return self.fusion.modalities

    @property
    def branch_names(self):
        return self.fusion.branch_names

    @property
    def size_multiple(self) -> int:
        return int(self.codec.downsample_factor)

    def _dtype(self):
        return self.compute_param().dtype

    def encode_map(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """Pixel map of branch ``name`` -> (B, C, h, w) latent.

        rgb (B, 3, H, W) in [-1, 1]; depth (B, 1, H, W) in [-1, 1] (grey
        image); normal (B, 3, H, W) unit vectors.
        """
        fn = dict(rgb=self.codec.encode_rgb, depth=self.codec.encode_depth,
                  normal=self.codec.encode_normal)[name]
        return fn(x.float()).to(self._dtype())

    def decode_map(self, name: str, z: torch.Tensor) -> torch.Tensor:
        """Latent -> rgb (B, 3, H, W) in [0, 1], depth (B, 1, H, W) in
        [0, 1] (the mean of the decoded channels; the official code keeps
        channel 0), normal (B, 3, H, W) unit vectors."""
        from unidense.pipelines import depth_to_unit_range
        if name == 'rgb':
            return (self.codec.decode_rgb(z).float() + 1) / 2
        if name == 'depth':
            return depth_to_unit_range(self.codec.decode_depth(z).float())
        return self.codec.decode_normal(z)

    def encode_text(self, prompts: Sequence[str]) -> torch.Tensor:
        """(B, L, D) cross-attention states of ``prompts`` (SD pipelines
        pass no text mask to the UNet)."""
        p = self.compute_param()
        with torch.no_grad():
            embeds = self.text_encoder.encode(list(prompts))['embeds']
        return embeds.to(p.device, p.dtype)

    # -------------------------------------------------------------- model
    def denoise(self, latent: torch.Tensor, timestep, text: torch.Tensor,
                spatial: Optional[torch.Tensor] = None) -> torch.Tensor:
        """One joint network call.

        ``latent`` (B, C * N, h, w) in branch order, ``timestep`` (B,),
        ``text`` (B, L, D), ``spatial`` (B, N + C * N, h, w) = [masks,
        masked latents] for the inpainting model (else ignored) -> (B,
        C * N, h, w) predictions.
        """
        kwargs = {}
        if self.fusion.masked_input:
            if spatial is None:
                raise ValueError('JointNet: the inpainting model needs masks '
                                 '(use inpaint() / estimate_depth())')
            n = self.fusion.num_branches
            kwargs = dict(masks=spatial[:, :n], masked_latents=spatial[:, n:])
        return self.fusion(latent, timestep, text, **kwargs)

    def _spatial(self, known, masks):
        """[masks (B, N, h, w), masked latents] or None (plain model).

        Masked latent = clean latent x (1 - mask): masking in latent space,
        as the released inpainting model was trained."""
        if not self.fusion.masked_input:
            return None
        c = self.fusion.latent_channels
        expanded = masks.repeat_interleave(c, dim=1)
        return torch.cat([masks, known * (1 - expanded)], dim=1)

    # --------------------------------------------------------------- loss
    def _targets(self, inputs, data_samples) -> Dict[str, torch.Tensor]:
        maps = dict(rgb=inputs)
        for name in self.modalities:
            field = MODALITY_FIELDS[name]
            x = stack_pixel_field(data_samples, field)
            if x is None:
                x = self._label(name, inputs)
            elif x.shape[-2:] != inputs.shape[-2:]:
                raise ValueError(f'JointNet.loss: {field} {tuple(x.shape)} '
                                 f'and inputs {tuple(inputs.shape)} differ '
                                 f'in size; resize both in the pipeline')
            maps[name] = x.to(inputs.device)
        with torch.no_grad():
            return {n: self.encode_map(n, x) for n, x in maps.items()}

    @torch.no_grad()
    def _label(self, name, inputs):
        """The modality from its online labeller (see the class doc)."""
        labeller = self.labeller(name).to(inputs.device)
        if isinstance(labeller, BaseModel):
            out = labeller(inputs, mode='tensor')
        else:
            out = labeller(pixel_values=inputs) if hasattr(
                labeller, 'config') else labeller(inputs)
        if hasattr(out, 'predicted_depth'):  # transformers DPT / MiDaS
            out = out.predicted_depth.unsqueeze(1)
        elif isinstance(out, dict):  # {modality: map} (JointNet itself)
            out = out[name]
        out = out.float()
        out = F.interpolate(out, size=inputs.shape[-2:], mode='bilinear',
                            align_corners=False) \
            if out.shape[-2:] != inputs.shape[-2:] else out
        if name == 'depth':
            norm, _ = self.codec.normalize_depth(
                out, valid=torch.ones_like(out, dtype=torch.bool))
            return norm
        return unit_vectors(out, dim=1)

    def labeller(self, name: str) -> torch.nn.Module:
        """The frozen online labeller of modality ``name`` (built once).

        Its config is a MODELS config (``type=...``, e.g. a unidense
        estimator) or ``dict(transformers_class='DPTForDepthEstimation',
        from_pretrained='Intel/dpt-hybrid-midas')`` built by the house's
        :func:`~unidense.diffusion.build_pretrained_module` and called with
        ``pixel_values`` = the inputs in [-1, 1] (DPT-MiDaS normalises with
        mean = std = 0.5, i.e. exactly this range).
        """
        if name not in self._labellers:
            if name not in self.labeller_cfgs:
                raise KeyError(
                    f'JointNet.loss: the samples have no '
                    f'{MODALITY_FIELDS[name]} and no labeller is configured '
                    f'for {name!r} (add NormalizeDepth / LoadNormal to the '
                    f'pipeline or `labellers={{{name!r}: ...}}`)')
            cfg = dict(self.labeller_cfgs[name])
            cls = cfg.pop('transformers_class', None)
            if cls is not None:
                from unidense.diffusion import build_pretrained_module
                module = build_pretrained_module('transformers', cls, **cfg)
            else:
                module = self.build_part(cfg)
            self._labellers[name] = freeze(module)
        return self._labellers[name]

    def _draw(self, shape, generator, device, kind='randn'):
        if kind == 'randn':
            return torch.randn(shape, generator=generator).to(device)
        return torch.rand(shape, generator=generator).to(device)

    def _captions(self, data_samples, gens):
        prompts = []
        for i, sample in enumerate(data_samples):
            caption = getattr(sample, 'caption', None)
            caption = self.prompt if caption is None else caption
            u = float(torch.rand(1, generator=gens[i]))
            prompts.append('' if u < self.caption_dropout else caption)
        return prompts

    def _train_masks(self, b, h, w, gens, device):
        """(B, N, h, w) inpainting masks, 1 = generate (see mask_probs)."""
        kinds = list(self.mask_probs)
        probs = torch.tensor([self.mask_probs[k] for k in kinds])
        n = self.fusion.num_branches
        masks = torch.ones(b, n, h, w)
        for i in range(b):
            while True:
                pick = torch.multinomial(probs, n, replacement=True,
                                         generator=gens[i])
                if any(kinds[k] != 'keep' for k in pick.tolist()):
                    break
            for j, k in enumerate(pick.tolist()):
                if kinds[k] == 'keep':
                    masks[i, j] = 0
                elif kinds[k] == 'box':
                    y0, y1 = sorted(torch.randint(0, h + 1, (2, ),
                                                  generator=gens[i]).tolist())
                    x0, x1 = sorted(torch.randint(0, w + 1, (2, ),
                                                  generator=gens[i]).tolist())
                    masks[i, j] = 0
                    masks[i, j, y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)] = 1
        return masks.to(device)

    def loss(self, inputs: torch.Tensor, data_samples: Sequence) -> Dict:
        """Joint denoising loss (paper Eq. 1).

        Args:
            inputs: (B, 3, H, W) RGB in [-1, 1].
            data_samples: with ``caption`` and each modality's field
                (``gt_depth_norm`` (1, H, W) in [-1, 1], ``gt_normal``
                (3, H, W)) unless a labeller makes it.

        Returns:
            dict(loss_rgb=scalar, loss_<modality>=scalar, ...).
        """
        latents = self._targets(inputs, data_samples)
        z0 = self.fusion.join(latents)
        b = z0.shape[0]
        if self.train_seed is None:
            gens = [None] * b
        else:
            gens = self.train_generators(data_samples)
        num_train = self.train_scheduler.config.num_train_timesteps
        t = torch.cat([torch.randint(0, num_train, (1, ), generator=g)
                       for g in gens]).to(z0.device)
        noise = torch.cat([self._draw((1, ) + z0.shape[1:], g, z0.device)
                           for g in gens]).to(z0.dtype)
        if self.noise_offset:
            offset = torch.cat([self._draw((1, z0.shape[1], 1, 1), g,
                                           z0.device) for g in gens])
            noise = noise + self.noise_offset * offset.to(z0.dtype)
        noisy = self.train_scheduler.add_noise(z0, noise, t)
        if self.prediction_type == 'epsilon':
            target = noise
        elif self.prediction_type == 'v_prediction':
            target = self.train_scheduler.get_velocity(z0, noise, t)
        else:
            target = z0
        gens_cpu = [g if g is not None else torch.default_generator
                    for g in gens]
        text = self.encode_text(self._captions(data_samples, gens_cpu))
        spatial = None
        if self.fusion.masked_input:
            masks = self._train_masks(b, *z0.shape[-2:], gens_cpu, z0.device)
            spatial = self._spatial(z0, masks.to(z0.dtype))
        pred = self.denoise(noisy, t, text, spatial)
        losses = {}
        for name, p, y in zip(self.branch_names,
                              self.fusion.split(pred).values(),
                              self.fusion.split(target).values()):
            losses[f'loss_{name}'] = F.mse_loss(p.float(), y.float())
        return losses

    # ----------------------------------------------------------- sampling
    def _sampler_fn(self, text, uncond, guidance_scale, tiling=None,
                    generator=None):
        from unidense.pipelines import (TiledDenoiser,
                                        classifier_free_guidance)
        fn = classifier_free_guidance(
            lambda x, t, c, s: self.denoise(x, t, c, s), text, uncond,
            guidance_scale)
        if tiling:
            fn = TiledDenoiser(fn, generator=generator, **tiling)
        return fn

    def _prompts(self, prompts, batch_size):
        if prompts is None:
            prompts = self.prompt
        if isinstance(prompts, str):
            prompts = [prompts] * batch_size
        return list(prompts)

    def _decode(self, z, wrap=False):
        from unidense.pipelines import decode_wrapped
        out = {}
        for name, part in self.fusion.split(z).items():
            fn = (lambda x, n=name: self.decode_map(n, x))
            out[name] = decode_wrapped(fn, part) if wrap else fn(part)
        return out

    def _canvas(self, inputs, batch_size, height, width):
        """(B, H, W) of a sampling run: the inputs' size, else the given
        one, else the UNet's ``sample_size`` x the VAE factor."""
        if inputs:
            ref = next(iter(inputs.values()))
            batch_size, (height, width) = ref.shape[0], ref.shape[-2:]
        f = self.size_multiple
        sample_size = self.backbone.unet.config.sample_size
        height = int(height or sample_size * f)
        width = int(width or sample_size * f)
        if height % f or width % f:
            raise ValueError(f'JointNet.sample: height and width must be '
                             f'multiples of {f}, got {height}x{width}')
        return batch_size, height, width

    def _conditions(self, inputs, fill, b, height, width, strength):
        """Known latents (B, C * N, h, w), the per-channel known mask
        (1 = generate) and the inpainting model's spatial conditioning, or
        Nones for plain generation."""
        from unidense.pipelines import latent_mask
        p = self.compute_param()
        f, c = self.size_multiple, self.fusion.latent_channels
        h, w = height // f, width // f
        n = self.fusion.num_branches
        inpainting = bool(inputs) or strength < 1.0 or any(
            not (isinstance(v, (int, float)) and v == 1)
            for v in fill.values())
        if not inpainting:
            if not self.fusion.masked_input:
                return None, None, None
            # the inpainting model generating everything: all-ones masks
            zeros = torch.zeros(b, c * n, h, w, device=p.device,
                                dtype=p.dtype)
            return None, None, self._spatial(zeros, torch.ones_like(
                zeros[:, :n]))
        channels = dict(rgb=3, depth=1, normal=3)
        known = self.fusion.join({
            name: self.encode_map(name, inputs[name].to(p.device)
                                  if name in inputs else -torch.ones(
                                      b, channels[name], height, width,
                                      device=p.device))
            for name in self.branch_names
        })
        lat_masks = torch.cat([
            latent_mask(v.to(p.device).float(), (h, w)) if torch.is_tensor(v)
            else torch.full((b, 1, h, w), float(v), device=p.device)
            for v in (fill[name] for name in self.branch_names)
        ], dim=1).to(p.dtype)
        return (known, lat_masks.repeat_interleave(c, dim=1),
                self._spatial(known, lat_masks))

    @torch.no_grad()
    def sample(self,
               prompts: Optional[Union[str, List[str]]] = None,
               batch_size: int = 1,
               height: Optional[int] = None,
               width: Optional[int] = None,
               inputs: Optional[Dict[str, torch.Tensor]] = None,
               masks: Optional[Dict[str, Union[float,
                                               torch.Tensor]]] = None,
               preset: Optional[str] = None,
               strength: float = 1.0,
               num_inference_steps: Optional[int] = None,
               guidance_scale: Optional[float] = None,
               negative_prompt: str = '',
               tiling: Optional[dict] = None,
               generator: Optional[torch.Generator] = None,
               noise: Optional[torch.Tensor] = None,
               decode: bool = True) -> Dict[str, torch.Tensor]:
        """Joint generation, inpainting, conversion, panoramas, refinement.

        Args:
            prompts: a prompt or one per image (default ``self.prompt``).
            batch_size: images when nothing else fixes B.
            height, width: pixels (default: the inputs' size, else the
                UNet's ``sample_size`` x the VAE factor).
            inputs: ``{branch: map}`` known pixel maps: ``rgb`` (B, 3, H, W)
                in [-1, 1], ``depth`` (B, 1, H, W) in [-1, 1], ``normal``
                (B, 3, H, W); missing ones are -1 images (as the official
                presets' zero inputs).
            masks: ``{branch: 0 | 1 | (B, 1, H, W) pixel mask}``, 1 =
                generate, 0 = keep; missing branches are generated.
            preset: 'rgb2j', 'j2rgb' or 'both' (fills ``masks``;
                explicit ``masks`` entries win).
            strength: SDEdit strength (1 = from noise; 0.4 refinement).
            tiling: :class:`~unidense.pipelines.TiledDenoiser` arguments
                (panoramas: ``dict(tile_size=64, stride=32, wrap=True,
                random_offset=True, full_view=0.4, full_view_weight=5)``);
                ``wrap`` also decodes with circular padding.
            generator: CPU generator of the noise (and tile offsets).
            noise: (B, C * N, h, w) starting noise instead.
            decode: return the decoded maps (else the joint latent).

        Returns:
            ``{branch: map}``: rgb (B, 3, H, W) in [0, 1], depth (B, 1, H,
            W) in [0, 1], normal (B, 3, H, W) unit; or ``{'latent': z}``.
        """
        from unidense.pipelines import preset_masks, sample_joint_latents
        inputs = dict(inputs or {})
        batch_size, height, width = self._canvas(inputs, batch_size, height,
                                                 width)
        prompts = self._prompts(prompts, batch_size)
        fill = preset_masks(preset or 'both', self.branch_names)
        fill.update(masks or {})
        known, known_mask, spatial = self._conditions(
            inputs, fill, len(prompts), height, width, strength)
        scale = self.guidance_scale if guidance_scale is None else \
            float(guidance_scale)
        text = self.encode_text(prompts)
        uncond = self.encode_text([negative_prompt] * len(prompts)) \
            if scale > 1 else None
        fn = self._sampler_fn(text, uncond, scale, tiling, generator)
        f = self.size_multiple
        shape = (len(prompts), self.fusion.latent_channels *
                 self.fusion.num_branches, height // f, width // f)
        z = sample_joint_latents(
            fn, self.test_scheduler, shape,
            num_inference_steps=num_inference_steps or
            self.num_inference_steps, known=known, known_mask=known_mask,
            strength=strength, spatial=spatial, generator=generator,
            noise=noise, device=self.compute_param().device,
            dtype=self._dtype())
        if not decode:
            return dict(latent=z)
        return self._decode(z, wrap=bool(tiling and tiling.get('wrap')))

    def generate(self, prompts=None, **kwargs) -> Dict[str, torch.Tensor]:
        """Joint generation from text (DDIM 50, CFG 7.5 by default); see
        :meth:`sample`."""
        return self.sample(prompts, **kwargs)

    def inpaint(self, prompts=None, preset=None, **kwargs):
        """Inpainting / conversion (``preset`` 'rgb2j', 'j2rgb', 'both' or
        explicit ``masks``); see :meth:`sample`."""
        return self.sample(prompts, preset=preset, **kwargs)

    # -------------------------------------------------- depth estimation
    @torch.no_grad()
    def estimate(self, inputs: torch.Tensor,
                 num_inference_steps: Optional[int] = None,
                 ensemble_size: Optional[int] = None,
                 processing_res: Optional[int] = None,
                 noise_seeds: Optional[Sequence[int]] = None,
                 generator: Optional[torch.Generator] = None
                 ) -> Dict[str, torch.Tensor]:
        """Dense maps of RGB images by channel-wise inpainting (``rgb2j``).

        Args:
            inputs: (B, 3, H, W) RGB in [-1, 1].
            noise_seeds: one seed per image (all its ensemble members).

        Returns:
            ``{modality: map}`` at the input size: depth (B, 1, H, W)
            relative in [0, 1] (0 near with ``gt_depth_norm`` training),
            ensembled over ``ensemble_size`` draws (Marigold's median);
            normal (B, 3, H, W) unit vectors (mean of the draws).
        """
        from unidense.pipelines import ensemble_depth, restore_to_input_size
        x, size = self.resize_for_processing(inputs, processing_res)
        n = int(ensemble_size or self.ensemble_size)
        xs = x.repeat_interleave(n, dim=0)
        noise = None
        if noise_seeds is not None:
            shape = (n, self.fusion.latent_channels * self.fusion.num_branches,
                     x.shape[-2] // self.size_multiple,
                     x.shape[-1] // self.size_multiple)
            noise = self.seeded_noise(noise_seeds, shape, x)
        out = self.sample(
            self._prompts(None, len(xs)), inputs=dict(rgb=xs),
            preset='rgb2j', num_inference_steps=num_inference_steps or
            self.depth_steps, guidance_scale=self.depth_guidance_scale,
            generator=generator, noise=noise)
        result = {}
        for name in self.modalities:
            maps = out[name].view(-1, n, *out[name].shape[1:])
            if name == 'depth':
                merged = torch.stack([ensemble_depth(m)[0][0] if n > 1 else
                                      m[0] for m in maps])
            else:
                merged = unit_vectors(maps.mean(dim=1), dim=1)
            result[name] = restore_to_input_size(merged, size)
        return result

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[Sequence] = None) -> List:
        """``pred_depth`` (1, H, W) relative in [0, 1] (and ``pred_normal``)
        at ``ori_shape``; metrics align depth to the ground truth."""
        maps = self.estimate(
            inputs, processing_res=self.processing_res_for(data_samples),
            noise_seeds=self.eval_noise_seeds(data_samples, len(inputs)))
        samples = data_samples
        for name, pred in maps.items():
            samples = self.restore_predictions(
                pred, inputs.shape[-2:], samples, f'pred_{name}',
                **({'is_normal': True} if name == 'normal' else {}))
        return samples

    def _forward(self, inputs, data_samples=None):
        """``{modality: map}`` of :meth:`estimate`."""
        return self.estimate(inputs)
