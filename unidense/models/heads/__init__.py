from .bae_normal_head import BaeNormalHead  # noqa: F401
from .base_dense_head import BaseDenseHead  # noqa: F401
from .vpd_depth_head import VPDDepthHead  # noqa: F401
from .vpd_seg_head import VPDSegHead  # noqa: F401
