"""KITTI depth (Eigen split, annotated ground truth)."""
from unidense.registry import DATASETS
from .base_dense_dataset import BaseDenseDataset


@DATASETS.register_module()
class KITTIDataset(BaseDenseDataset):
    """KITTI Eigen split with the annotated (semi-dense) depth.

    Split file (BTS / Marigold ``eigen_test_files_with_gt.txt``), 697 test
    lines: ``<raw image relative to data_prefix.img_path>
    <depth relative to data_prefix.depth_path> <focal>``; lines whose depth
    is ``None`` (45 frames without ground truth) are skipped, leaving 652.

    Depth: uint16 PNG / 256 = metres, 0 = no LiDAR point; valid (1e-5, 80).
    Pipelines apply :class:`KBCrop` (352x1216) to image and GT. Evaluation
    crop is part of the protocol: ``eval_crop='eigen'`` -> protocol
    ``'kitti'`` (Eigen crop), ``'garg'`` -> ``'marigold_kitti_garg'``.
    """

    METAINFO = dict(dataset_name='kitti')
    DEFAULT_COLUMNS = ('img_path', 'depth_path', 'focal')
    DEPTH_SCALE = 256.0
    DEPTH_RANGE = (1e-5, 80.0)
    PROTOCOL = 'kitti'

    def __init__(self, eval_crop: str = 'eigen', **kwargs):
        # 'garg' names the metric preset directly (DepthMetric maps protocol
        # names through PROTOCOL_TO_PRESET and falls back to preset names).
        protocols = dict(eigen='kitti', garg='marigold_kitti_garg')
        if eval_crop not in protocols:
            raise ValueError(f'KITTIDataset: eval_crop must be one of '
                             f'{sorted(protocols)}, got {eval_crop!r}')
        kwargs.setdefault('protocol', protocols[eval_crop])
        self.eval_crop = eval_crop
        super().__init__(**kwargs)
