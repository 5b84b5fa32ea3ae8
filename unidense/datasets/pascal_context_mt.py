"""PASCAL-Context in the ATRC / MTI-Net multi-task packaging (PASCAL_MT)."""
import os.path as osp

from unidense.registry import DATASETS
from .base_dense_dataset import BaseDenseDataset

PASCAL_MT_CLASSES = (
    'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus',
    'car', 'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike',
    'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')
PASCAL_PARTS = ('background', 'head', 'torso', 'upper arm', 'lower arm',
                'upper leg', 'lower leg')


@DATASETS.register_module()
class PascalContextMTDataset(BaseDenseDataset):
    """PASCAL-Context multi-task (4,998 train / 5,105 val)::

        PASCAL_MT/ImageSets/Context/{train,val}.txt
        PASCAL_MT/JPEGImages/<id>.jpg
        PASCAL_MT/semseg/pascal-context/<id>.png   0 background .. 20
        PASCAL_MT/human_parts/<id>.png             0 bg, 1..6 parts
        PASCAL_MT/sal_distill/<id>.png             0..255, binarised at 0.5
        PASCAL_MT/normals_distill/<id>.png         n = 2 v / 255 - 1

    Human parts come as PNGs (convert the official ``.mat`` files once with
    ``tools/dataset_converters/pascal_human_parts.py``); an
    image without a parts file gets an all-ignore (255) parsing map, since
    only images with people carry part labels. ``tasks`` selects which
    files are listed. Size 512x512 by padding. Protocol ``'pascal_mt'``.
    """

    METAINFO = dict(dataset_name='pascal_context_mt',
                    classes=PASCAL_MT_CLASSES, part_classes=PASCAL_PARTS)
    ALL_TEMPLATES = dict(img_path='JPEGImages/{}.jpg',
                         seg_map_path='semseg/pascal-context/{}.png',
                         parsing_path='human_parts/{}.png',
                         saliency_path='sal_distill/{}.png',
                         normal_path='normals_distill/{}.png')
    TASK_KEYS = dict(semseg='seg_map_path', human_parts='parsing_path',
                     sal='saliency_path', normals='normal_path')
    PROTOCOL = 'pascal_mt'

    def __init__(self, ann_file: str = '', test_mode: bool = False,
                 tasks=('semseg', 'human_parts', 'sal', 'normals'),
                 **kwargs):
        unknown = set(tasks) - set(self.TASK_KEYS)
        if unknown:
            raise ValueError(f'PascalContextMTDataset: unknown tasks '
                             f'{sorted(unknown)}; choose from '
                             f'{sorted(self.TASK_KEYS)}')
        self.tasks = tuple(tasks)
        templates = dict(img_path=self.ALL_TEMPLATES['img_path'])
        for task in tasks:
            key = self.TASK_KEYS[task]
            templates[key] = self.ALL_TEMPLATES[key]
        if not ann_file:
            ann_file = 'ImageSets/Context/' + ('val.txt' if test_mode
                                               else 'train.txt')
        super().__init__(ann_file=ann_file, test_mode=test_mode,
                         templates=templates, **kwargs)

    def complete_info(self, info):
        parts = info.get('parsing_path')
        if parts is not None and not osp.isfile(parts):
            info['parsing_path'] = None
            info['parsing_missing'] = True
        return info
