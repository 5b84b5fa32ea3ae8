"""Dense prediction heads (Diff-2-in-1 stage 1 and the decoders it uses).

Each head subclasses :class:`BaseDenseHead`; see docs/user_guides/heads.md.
"""
from .bae_normal_head import BaeNormalHead  # noqa: F401
from .base_dense_head import BaseDenseHead  # noqa: F401
from .idisc_head import IDiscHead  # noqa: F401
from .invpt_decoder import InvPTDecoder  # noqa: F401
from .msdeform_pixel_decoder import MSDeformAttnPixelDecoder  # noqa: F401
from .multi_task_dense_head import MultiTaskDenseHead  # noqa: F401
from .taskprompter_decoder import TaskPrompterDecoder  # noqa: F401
from .vpd_depth_head import VPDDepthHead  # noqa: F401
from .vpd_seg_head import VPDSegHead  # noqa: F401
