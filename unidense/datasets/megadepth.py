"""MegaDepth v1 (SfM/MVS depth of internet photos, up to scale)."""
import os.path as osp

from unidense.registry import DATASETS
from .base_dense_dataset import BaseDenseDataset


@DATASETS.register_module()
class MegaDepthDataset(BaseDenseDataset):
    """MegaDepth v1 layout::

        MegaDepth_v1/<scene>/dense<k>/imgs/<name>.jpg
        MegaDepth_v1/<scene>/dense<k>/depths/<name>.h5   key 'depth'

    Depth is relative (MVS up to scale; 0 = none; the ordinal-only images
    use negative values, which the loader marks invalid). Use
    ``LoadDepth(file_format='h5')`` (needs h5py). A split file lists
    ``img_path [depth_path]``; without one ``data_root`` is scanned for
    ``*/dense*/imgs/*.jpg``. Protocol ``'megadepth'`` (affine-invariant).
    """

    METAINFO = dict(dataset_name='megadepth')
    DEPTH_SCALE = 1.0
    DEPTH_RANGE = (1e-8, float('inf'))
    PROTOCOL = 'megadepth'
    SKIP_MISSING_DEPTH = False

    def complete_info(self, info):
        if info.get('depth_path') is None:
            img = info['img_path']
            head, name = osp.split(img)
            if osp.basename(head) != 'imgs':
                raise ValueError(f'MegaDepthDataset: {img!r} is not in an '
                                 f'imgs/ folder; list its depth explicitly')
            info['depth_path'] = osp.join(osp.dirname(head), 'depths',
                                          osp.splitext(name)[0] + '.h5')
        return info

    def scan_folder(self):
        root = self.data_prefix.get('img_path') or self.data_root
        files = [f for f in self._scan(root, ['.jpg', '.JPG'])
                 if osp.basename(osp.dirname(f)) == 'imgs']
        return [dict(img_path=f) for f in files]
