"""Load and measure the tiny family (``model_zoo/unidense-tiny``)."""
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from unidense.registry import DIFFUSION_SCHEDULERS, MODELS

#: the repository's copy of the family
TINY_FAMILY_DIR = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))),
    'model_zoo', 'unidense-tiny')
#: the parts and their diffusers / transformers classes
PARTS = dict(vae='AutoencoderKL', transformer='PixArtTransformer2DModel',
             unet='UNet2DConditionModel', text_encoder='T5EncoderModel')


def load_part(name: str, family_dir: str = TINY_FAMILY_DIR,
              random_init: bool = False):
    """A frozen part of the family (``vae``, ``transformer``, ``unet``,
    ``text_encoder``); ``random_init`` builds the same architecture from its
    ``config.json`` with random weights (the "no prior" control)."""
    if name not in PARTS:
        raise KeyError(f'load_part: unknown part {name!r}; one of '
                       f'{sorted(PARTS)}')
    folder = osp.join(family_dir, name)
    if random_init:
        return MODELS.build(dict(type=PARTS[name], config=folder,
                                 frozen=True))
    return MODELS.build(dict(type=PARTS[name], from_pretrained=family_dir,
                             subfolder=name, frozen=True))


def load_text_encoder(family_dir: str = TINY_FAMILY_DIR,
                      max_length: int = 48):
    """The family's ``TextEncoder`` (word tokenizer + fixed T5)."""
    return MODELS.build(dict(
        type='TextEncoder',
        encoders=[dict(
            tokenizer=dict(type='PreTrainedTokenizerFast',
                           from_pretrained=family_dir, subfolder='tokenizer'),
            encoder=dict(type='T5EncoderModel', from_pretrained=family_dir,
                         subfolder='text_encoder'),
            role='sequence', max_length=max_length)],
        frozen=True))


def sampling_scheduler(family_dir: str = TINY_FAMILY_DIR,
                       kind: str = 'DDIMScheduler'):
    """The family's noise schedule as a sampler (DDIM, trailing steps)."""
    return DIFFUSION_SCHEDULERS.build(dict(
        type=kind, config=osp.join(family_dir, 'scheduler'),
        timestep_spacing='trailing'))


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) of (B, 3, H, W) images in [0, 1]."""
    mse = (a.float() - b.float()).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse.clamp(min=1e-10))


@torch.no_grad()
def vae_round_trip(codec, renders: Sequence[dict],
                   mean_depth: Optional[np.ndarray] = None) -> Dict:
    """Reconstruction quality of a ``LatentCodec`` on rendered scenes.

    Returns ``rgb_psnr`` (dB, mean over images), ``depth_abs_rel`` and
    ``depth_delta1`` (%) of decode(encode(normalised depth)) after
    least-squares alignment to the metric depth, ``normal_angle`` (mean
    degrees) of decode(encode(normals)); with ``mean_depth`` (H, W) also
    ``mean_depth_abs_rel`` / ``mean_depth_delta1``, the same alignment of
    that constant map: the baseline the round trip must beat.
    """
    from unidense.evaluation.functional.angular_errors import \
        angular_error_deg
    from unidense.evaluation.functional.depth_alignment import \
        align_depth_least_squares
    from unidense.evaluation.functional.depth_errors import depth_errors
    img = torch.stack([torch.from_numpy(r['img']).permute(2, 0, 1)
                       for r in renders]).float() / 255
    depth = torch.stack([torch.from_numpy(r['gt_depth'])
                         for r in renders])[:, None]
    normal = torch.stack([torch.from_numpy(r['gt_normal']).permute(2, 0, 1)
                          for r in renders])
    rgb = (codec.decode_rgb(codec.encode_rgb(img * 2 - 1)) + 1) / 2
    norm, _ = codec.normalize_depth(depth)
    depth_rt = codec.decode_depth(codec.encode_depth(norm))
    normal_rt = codec.decode_normal(codec.encode_normal(normal))
    out = dict(rgb_psnr=float(psnr(rgb, img).mean()))
    rows = {'': depth_rt[:, 0].numpy()}
    if mean_depth is not None:
        rows['mean_'] = np.broadcast_to(mean_depth, depth_rt[:, 0].shape)
    for prefix, preds in rows.items():
        errs = [depth_errors(np.clip(align_depth_least_squares(
            p, g.numpy())[0], 1e-3, 20.0), g.numpy(),
            metrics=('abs_rel', 'delta1'))
                for p, g in zip(preds, depth[:, 0])]
        out[f'{prefix}depth_abs_rel'] = 100 * float(np.mean(
            [e['abs_rel'] for e in errs]))
        out[f'{prefix}depth_delta1'] = 100 * float(np.mean(
            [e['delta1'] for e in errs]))
    out['normal_angle'] = float(np.mean([
        angular_error_deg(p.numpy(), g.numpy()).mean()
        for p, g in zip(normal_rt, normal)]))
    return out


#: what :func:`reference_outputs` renders and generates
REFERENCE_PROMPT = ('a room with blue walls, a white checkered floor, '
                    'a red box and a yellow sphere')


@torch.no_grad()
def reference_outputs(family_dir: str = TINY_FAMILY_DIR,
                      parts: Sequence[str] = ('vae', 'transformer',
                                              'unet')) -> Dict:
    """Small, seeded outputs of the family that tests compare against
    stored arrays: ``vae`` -> ``reconstruction`` (3, 64, 64) of held-out
    scene 0 (seed 1000) in [-1, 1]; ``transformer`` / ``unet`` ->
    ``<part>_image`` (3, 64, 64) in [0, 1] for :data:`REFERENCE_PROMPT`,
    DDIM 4 steps, guidance 3, generator seed 0."""
    from unidense.datasets import SyntheticScenes
    from unidense.diffusion import LatentCodec
    from unidense.pipelines.text_to_image import generate_images
    out = {}
    vae = load_part('vae', family_dir)
    if 'vae' in parts:
        scene = SyntheticScenes(num_samples=1, img_size=64, seed=1000,
                                max_objects=4).render(0)
        img = torch.from_numpy(scene['img']).permute(2, 0, 1)[None]
        codec = LatentCodec(vae)
        out['reconstruction'] = codec.decode_rgb(codec.encode_rgb(
            img.float() / 127.5 - 1))[0].numpy()
    denoisers = [p for p in parts if p in ('transformer', 'unet')]
    if denoisers:
        text_encoder = load_text_encoder(family_dir)
        scheduler = sampling_scheduler(family_dir)
        for name in denoisers:
            image = generate_images(
                load_part(name, family_dir), vae, text_encoder, scheduler,
                [REFERENCE_PROMPT], num_inference_steps=4,
                guidance_scale=3.0,
                generator=torch.Generator().manual_seed(0))
            out[f'{name}_image'] = image[0].numpy()
    return out
