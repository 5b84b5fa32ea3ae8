
from .pixart_dit import PixArtDiT, PixArtState  # noqa: F401
