"""Fréchet distance between Gaussian fits of two feature sets (FID's
formula), with a small, fixed feature extractor for 64x64 images until the
Inception-based generation metrics land."""
import numpy as np
import torch
import torch.nn as nn
from scipy import linalg


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of (N, D) and
    (M, D) feature sets, in float64 (Heusel et al., 2017)."""
    a = np.asarray(feats_a, np.float64)
    b = np.asarray(feats_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f'frechet_distance: need (N, D) and (M, D) '
                         f'features, got {a.shape} and {b.shape}')
    if min(len(a), len(b)) < 2:
        raise ValueError('frechet_distance: need at least 2 samples a side')
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():
        # singular product: regularise as the reference implementation does
        eps = np.eye(len(cov_a)) * 1e-6
        covmean = linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    covmean = np.real(covmean)
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) -
                 2 * np.trace(covmean))


class RandomConvFeatures(nn.Module):
    """A fixed, seeded random conv net: (B, 3, H, W) in [0, 1] -> (B, 2C)
    features (channel means and standard deviations of the last layer).

    Random-feature Fréchet distances rank generators like Inception ones on
    simple data while needing no download; the numbers are not comparable
    to published FIDs.
    """

    def __init__(self, channels: int = 64, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        widths = (3, 32, 48, channels)
        layers = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            conv = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape,
                                              generator=gen) /
                                  np.sqrt(9 * c_in))
                conv.bias.zero_()
            layers += [conv, nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers).requires_grad_(False).eval()

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h = self.net(images.float() * 2 - 1)
        return torch.cat([h.mean((2, 3)), h.std((2, 3))], 1)
