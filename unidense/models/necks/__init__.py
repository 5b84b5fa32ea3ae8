
from .multi_scale_fusion_neck import MultiScaleFusionNeck  # noqa: F401
