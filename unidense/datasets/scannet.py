"""ScanNet frames (Marigold's 800-frame validation sample)."""
from unidense.registry import DATASETS
from .base_dense_dataset import BaseDenseDataset


@DATASETS.register_module()
class ScanNetDataset(BaseDenseDataset):
    """ScanNet, Marigold layout ``scannet/<scene>/color/000000.jpg`` +
    ``scannet/<scene>/depth/000000.png`` (uint16 mm, 640x480 after
    Marigold's resize of the colour frames). Valid (1e-3, 10) m, protocol
    ``'scannet'``. Normals (Bae PNG) can be added with a ``normal_path``
    column.
    """

    METAINFO = dict(dataset_name='scannet')
    DEPTH_SCALE = 1000.0
    DEPTH_RANGE = (1e-3, 10.0)
    PROTOCOL = 'scannet'
