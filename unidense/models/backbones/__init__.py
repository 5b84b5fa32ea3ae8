
from .pixart_dit import PixArtDiT, PixArtState  # noqa: F401
from .flux_dit import FluxDiT, FluxState  # noqa: F401
