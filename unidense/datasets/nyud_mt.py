"""NYUD-MT: NYUv2 in the ATRC / MTI-Net multi-task packaging."""
import os.path as osp

from unidense.registry import DATASETS
from .base_dense_dataset import BaseDenseDataset
from .nyuv2 import NYU40_CLASSES


@DATASETS.register_module()
class NYUDMTDataset(BaseDenseDataset):
    """NYUD-MT (795 train / 654 val, 425x560), as used by InvPT and
    TaskPrompter::

        NYUD_MT/gt_sets/{train,val}.txt   one id per line
        NYUD_MT/images/<id>.png           (or .jpg)
        NYUD_MT/segmentation/<id>.png     0 void, 1..40 (-> 255, 0..39)
        NYUD_MT/depth/<id>.npy            float metres
        NYUD_MT/normals/<id>.png          n = 2 v / 255 - 1
        NYUD_MT/edge/<id>.png             (not loaded; boundaries are
                                           scored offline)

    ``ann_file`` defaults to ``gt_sets/val.txt`` when ``test_mode`` else
    ``gt_sets/train.txt``. Depth valid (0, 80) m (TaskPrompter); the
    training size 448x576 is reached with ``PadToMultiple(size=...)``.
    Protocol ``'nyud_mt'``.
    """

    METAINFO = dict(dataset_name='nyud_mt', classes=NYU40_CLASSES)
    TEMPLATES = dict(img_path='images/{}.png',
                     seg_map_path='segmentation/{}.png',
                     depth_path='depth/{}.npy',
                     normal_path='normals/{}.png')
    DEPTH_SCALE = 1.0
    DEPTH_RANGE = (0.0, 80.0)
    PROTOCOL = 'nyud_mt'
    REDUCE_ZERO_LABEL = True

    def __init__(self, ann_file: str = '', test_mode: bool = False,
                 **kwargs):
        if not ann_file:
            ann_file = 'gt_sets/val.txt' if test_mode else \
                'gt_sets/train.txt'
        super().__init__(ann_file=ann_file, test_mode=test_mode, **kwargs)

    def complete_info(self, info):
        img = info['img_path']
        if not osp.isfile(img) and osp.isfile(img[:-4] + '.jpg'):
            info['img_path'] = img[:-4] + '.jpg'
        return info
