"""VPD text adapter: e' = e + gamma * MLP(e)."""
import torch
import torch.nn as nn

from unidense.registry import MODELS


@MODELS.register_module()
class TextAdapter(nn.Module):
    """Residual MLP on text embeddings with a learnable per-channel gate.

    ``MLP = Linear(D, D) -> GELU -> Linear(D, D)``; ``gamma`` (D,) starts at
    ``gamma_init`` (1e-4 in VPD) so the adapter starts as (almost) identity.
    For D = 768 it has 1,181,952 parameters, as VPD's.

    Args:
        dim (int): embedding width D.
        hidden_dim (int, optional): MLP width; defaults to D.
        gamma_init (float): initial gate value. Defaults to 1e-4.

    ``forward(e (..., D)) -> (..., D)``.
    """

    def __init__(self, dim, hidden_dim=None, gamma_init=1e-4):
        super().__init__()
        hidden_dim = hidden_dim or dim
        self.fc = nn.Sequential(
            nn.Linear(dim, hidden_dim), nn.GELU(), nn.Linear(hidden_dim, dim))
        self.gamma = nn.Parameter(torch.full((dim, ), float(gamma_init)))

    def forward(self, embeds):
        if embeds.shape[-1] != self.gamma.shape[0]:
            raise ValueError(f'TextAdapter: last dim of {tuple(embeds.shape)}'
                             f' must be {self.gamma.shape[0]}')
        return embeds + self.gamma * self.fc(embeds)
