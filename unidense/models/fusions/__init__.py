from .base_fusion import BaseFusion  # noqa: F401
from .grouped_converters import (FluxGroupedConverters,  # noqa: F401
                                 GroupedConverters, PixArtGroupedConverters)
from .zero_conv_exchange import ZeroConvExchange  # noqa: F401
