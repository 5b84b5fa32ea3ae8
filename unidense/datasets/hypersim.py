"""Hypersim after Marigold's preprocessing (training data)."""
from unidense.registry import DATASETS
from .base_dense_dataset import BaseDenseDataset


@DATASETS.register_module()
class HypersimDataset(BaseDenseDataset):
    """Hypersim, as written by ``tools/dataset_converters/hypersim.py``
    (Marigold recipe: tone-mapped RGB, planar depth, invalid entity -> 0)::

        hypersim/train/ai_001_001/rgb_cam_00_fr0000.png
        hypersim/train/ai_001_001/depth_plane_cam_00_fr0000.png  (uint16 mm)

    Split file ``filename_list_train_filtered.txt`` (~54K lines):
    ``img_path depth_path``. Valid (1e-5, 65) m; training resizes to
    480x640 (nearest for depth). Protocol ``'hypersim'``.
    """

    METAINFO = dict(dataset_name='hypersim')
    DEPTH_SCALE = 1000.0
    DEPTH_RANGE = (1e-5, 65.0)
    PROTOCOL = 'hypersim'
    # 1024x768 renders with a 60 degree horizontal field of view.
    INTRINSICS = [[886.81, 0.0, 512.0], [0.0, 886.81, 384.0],
                  [0.0, 0.0, 1.0]]
