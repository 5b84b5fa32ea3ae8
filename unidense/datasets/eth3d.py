"""ETH3D high-res multi-view stereo, as used for zero-shot depth."""
from unidense.registry import DATASETS
from .base_dense_dataset import BaseDenseDataset


@DATASETS.register_module()
class ETH3DDataset(BaseDenseDataset):
    """ETH3D (454 DSLR frames, 6048x4032), Marigold layout::

        eth3d/rgb/<scene>/images/dslr_images/DSC_0001.JPG
        eth3d/depth/<scene>/ground_truth_masked_depth/dslr_images/DSC_0001.JPG

    The "depth" file keeps the .JPG name but is raw little-endian float32
    metres (H x W = image size), ``inf`` = no ground truth: load it with
    ``LoadDepth(file_format='raw_float32')`` after ``LoadImage``. Valid
    (1e-5, inf); protocol ``'eth3d'`` (inference at 756 px, alignment at
    1024 px).
    """

    METAINFO = dict(dataset_name='eth3d')
    DEPTH_SCALE = 1.0
    DEPTH_RANGE = (1e-5, float('inf'))
    PROTOCOL = 'eth3d'
