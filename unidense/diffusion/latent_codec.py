"""VAE codec between pixel-space maps (RGB, depth, normals) and latents."""
import torch
import torch.nn as nn

from unidense.registry import MODELS
from unidense.utils.vector_ops import unit_vectors
from .freezing import freeze, keep_frozen_in_eval


@MODELS.register_module()
class LatentCodec(nn.Module):
    """Encode / decode RGB, depth and normal maps with a (frozen) VAE.

    ``z = (posterior - shift_factor) * scaling_factor`` and the inverse on
    decode, as in diffusers' SD / SD3 / FLUX pipelines. Every method runs
    under ``torch.no_grad()`` and in chunks of ``max_batch`` images.

    Args:
        vae (dict | nn.Module): an ``AutoencoderKL`` config or module.
        sample_posterior (bool): encode to a posterior sample instead of its
            mean. Defaults to False (deterministic).
        scaling_factor (float, optional): defaults to
            ``vae.config.scaling_factor`` (SD 0.18215, FLUX 0.3611).
        shift_factor (float, optional): defaults to ``vae.config.shift_factor``
            or 0 (FLUX 0.1159).
        max_batch (int, optional): images per VAE call. None = all at once.
        frozen (bool): freeze the VAE. Defaults to True.

    Shapes (f = ``downsample_factor``, 8 for the SD/FLUX VAEs and the tiny
    VAE; C = ``latent_channels``, 4 for SD, 16 for FLUX):

    - ``encode_rgb(x (B, 3, H, W) in [-1, 1]) -> (B, C, H/f, W/f)``
    - ``decode_rgb(z) -> (B, 3, H, W)`` clamped to [-1, 1]
    - ``encode_depth(d (B, 1, H, W) in [-1, 1])`` - replicated to 3 channels
    - ``decode_depth(z) -> (B, 1, H, W)`` in [-1, 1], mean of the 3 channels
    - ``encode_normal(n (B, 3, H, W) unit xyz)``
    - ``decode_normal(z) -> (B, 3, H, W)`` unit vectors
    """

    def __init__(self, vae, sample_posterior=False, scaling_factor=None,
                 shift_factor=None, max_batch=None, frozen=True):
        super().__init__()
        self.vae = MODELS.build(vae) if isinstance(vae, dict) else vae
        cfg = self.vae.config
        if scaling_factor is None:
            scaling_factor = getattr(cfg, 'scaling_factor', None)
            if scaling_factor is None:
                scaling_factor = 1.0
        if shift_factor is None:
            shift_factor = getattr(cfg, 'shift_factor', None) or 0.0
        self.scaling_factor = float(scaling_factor)
        self.shift_factor = float(shift_factor)
        self.sample_posterior = bool(sample_posterior)
        if max_batch is not None and int(max_batch) < 1:
            raise ValueError(
                f'LatentCodec: max_batch={max_batch} must be >= 1')
        self.max_batch = None if max_batch is None else int(max_batch)
        self.frozen = frozen
        if frozen:
            freeze(self.vae)

    def train(self, mode=True):
        super().train(mode)
        return keep_frozen_in_eval(self)

    @property
    def latent_channels(self):
        return int(self.vae.config.latent_channels)

    @property
    def downsample_factor(self):
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    # -- helpers ------------------------------------------------------------
    def _param(self):
        return next(self.vae.parameters())

    def _check(self, x, channels, name):
        if not torch.is_tensor(x) or x.dim() != 4 or x.shape[1] != channels:
            shape = tuple(x.shape) if torch.is_tensor(x) else type(x)
            raise ValueError(f'LatentCodec.{name}: expected (B, {channels}, '
                             f'H, W), got {shape}')
        f = self.downsample_factor
        if name.startswith('encode') and (x.shape[-2] % f or x.shape[-1] % f):
            raise ValueError(f'LatentCodec.{name}: H, W = '
                             f'{tuple(x.shape[-2:])} must be multiples of '
                             f'{f}; pad the input first')
        if name.startswith('decode') and channels != self.latent_channels:
            raise ValueError(f'LatentCodec.{name}: expected '
                             f'{self.latent_channels} latent channels')

    def _chunks(self, x):
        n = self.max_batch or max(x.shape[0], 1)
        return x.split(n, dim=0)

    @torch.no_grad()
    def _encode(self, x, generator=None):
        """``generator``: one for the batch, or a list of one per image
        (a per-image posterior sample, independent of the batching)."""
        p = self._param()
        outs, start = [], 0
        for chunk in self._chunks(x.to(device=p.device, dtype=p.dtype)):
            dist = self.vae.encode(chunk).latent_dist
            gen = generator[start:start + len(chunk)] if isinstance(
                generator, (list, tuple)) else generator
            start += len(chunk)
            z = dist.sample(gen) if self.sample_posterior else dist.mean
            outs.append((z - self.shift_factor) * self.scaling_factor)
        return torch.cat(outs)

    @torch.no_grad()
    def _decode(self, z):
        return self.decode_with_grad(z)

    def decode_with_grad(self, z):
        """latent (B, C, h, w) -> the decoder's raw (B, 3, H, W) output, not
        clamped, with gradients flowing to ``z`` (the VAE stays frozen): for
        pixel-space losses on a predicted latent (end-to-end fine-tuning)."""
        p = self._param()
        outs = []
        for chunk in self._chunks(z.to(device=p.device, dtype=p.dtype)):
            chunk = chunk / self.scaling_factor + self.shift_factor
            outs.append(self.vae.decode(chunk).sample)
        return torch.cat(outs)

    # -- linear parts (exposed for tests and for pixel-space losses) --------
    @staticmethod
    def depth_to_rgb(depth):
        """(B, 1, H, W) -> (B, 3, H, W): the depth replicated per channel."""
        return depth.expand(-1, 3, -1, -1)

    @staticmethod
    def rgb_to_depth(rgb):
        """(B, 3, H, W) -> (B, 1, H, W): the mean over channels."""
        return rgb.mean(dim=1, keepdim=True)

    @staticmethod
    def normalize_depth(depth, valid=None, low=0.02, high=0.98):
        """Affine-normalise depth per image to [-1, 1] with quantiles.

        Marigold's convention: the ``low``/``high`` quantiles of the valid
        depths map to -1/1, values outside are clipped.

        Args:
            depth (Tensor): (B, 1, H, W) metres.
            valid (Tensor, optional): (B, 1, H, W) bool; default depth > 0.

        Returns:
            tuple: normalised (B, 1, H, W) in [-1, 1], and (B, 2) the
            (d_low, d_high) used per image.
        """
        if depth.dim() != 4 or depth.shape[1] != 1:
            raise ValueError('LatentCodec.normalize_depth: expected (B, 1, H, '
                             f'W), got {tuple(depth.shape)}')
        valid = depth > 0 if valid is None else valid.bool()
        out, ranges = [], []
        for d, v in zip(depth, valid):
            vals = d[v].float()
            if vals.numel() == 0:
                raise ValueError('LatentCodec.normalize_depth: an image has '
                                 'no valid depth')
            lo, hi = torch.quantile(vals, torch.tensor(
                [low, high], dtype=vals.dtype, device=vals.device))
            scale = torch.clamp(hi - lo, min=1e-6)
            out.append(((d - lo) / scale * 2 - 1).clamp(-1, 1))
            ranges.append(torch.stack([lo, hi]))
        return torch.stack(out), torch.stack(ranges)

    # -- public API ---------------------------------------------------------
    def encode_rgb(self, x, generator=None):
        """(B, 3, H, W) in [-1, 1] -> latent (B, C, H/f, W/f)."""
        self._check(x, 3, 'encode_rgb')
        return self._encode(x, generator)

    def decode_rgb(self, z):
        """latent (B, C, h, w) -> (B, 3, h*f, w*f) in [-1, 1]."""
        self._check(z, self.latent_channels, 'decode_rgb')
        return self._decode(z).clamp(-1, 1)

    def encode_depth(self, depth, generator=None):
        """(B, 1, H, W) in [-1, 1] -> latent; replicated to 3 channels."""
        self._check(depth, 1, 'encode_depth')
        return self._encode(self.depth_to_rgb(depth), generator)

    def decode_depth(self, z):
        """latent -> (B, 1, H, W) in [-1, 1]: mean of the decoded channels."""
        self._check(z, self.latent_channels, 'decode_depth')
        return self.rgb_to_depth(self._decode(z)).clamp(-1, 1)

    def encode_normal(self, normal, generator=None):
        """(B, 3, H, W) unit xyz (components in [-1, 1]) -> latent."""
        self._check(normal, 3, 'encode_normal')
        return self._encode(normal.clamp(-1, 1), generator)

    def decode_normal(self, z):
        """latent -> (B, 3, H, W) unit vectors (L2-normalised per pixel)."""
        self._check(z, self.latent_channels, 'decode_normal')
        return unit_vectors(self._decode(z).float(), dim=1, eps=1e-6)
