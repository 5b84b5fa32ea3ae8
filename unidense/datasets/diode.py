"""DIODE validation set (indoor + outdoor) with its depth masks."""
from unidense.registry import DATASETS
from .base_dense_dataset import BaseDenseDataset


@DATASETS.register_module()
class DIODEDataset(BaseDenseDataset):
    """DIODE val (771 = 325 indoors + 446 outdoor), official layout::

        diode/val/indoors/scene_00019/scan_00183/<name>.png
        .../<name>_depth.npy        (H, W, 1) float32 metres
        .../<name>_depth_mask.npy   (H, W) 0/1

    Split-file lines give ``img_path [depth_path depth_mask_path]``; missing
    depth/mask columns are derived from the image name, and without a split
    file ``data_root`` is scanned for ``*.png``. The mask is ANDed into
    ``gt_depth_valid`` by :class:`LoadDepthMask`. Valid (0.6, 350) m,
    protocol ``'diode'`` (inference at 640 px).
    """

    METAINFO = dict(dataset_name='diode')
    DEFAULT_COLUMNS = ('img_path', 'depth_path', 'depth_mask_path')
    DEPTH_SCALE = 1.0
    DEPTH_RANGE = (0.6, 350.0)
    PROTOCOL = 'diode'
    SKIP_MISSING_DEPTH = False

    def complete_info(self, info):
        stem = info['img_path'][:-len('.png')] if info['img_path'].endswith(
            '.png') else info['img_path'].rsplit('.', 1)[0]
        if info.get('depth_path') is None:
            info['depth_path'] = stem + '_depth.npy'
        if info.get('depth_mask_path') is None:
            info['depth_mask_path'] = stem + '_depth_mask.npy'
        return info

    def scan_folder(self):
        root = self.data_prefix.get('img_path') or self.data_root
        return [dict(img_path=p) for p in self._scan(root, ['.png'])]
