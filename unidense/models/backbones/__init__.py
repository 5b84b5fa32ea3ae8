
from .frozen_network_backbone import FrozenNetworkBackbone  # noqa: F401
from .pixart_dit import PixArtDiT, PixArtState  # noqa: F401
from .flux_dit import FluxDiT, FluxState  # noqa: F401
from .sd_unet import SDUNet, UNetState  # noqa: F401
from .sd_unet_features import SDUNetFeatures  # noqa: F401
from .text_adapter import TextAdapter  # noqa: F401
from .timm_encoder import TimmEncoder  # noqa: F401
