"""ADE20K (SceneParsing, 150 classes), mmsegmentation layout."""
import os.path as osp

from unidense.registry import DATASETS
from .base_dense_dataset import BaseDenseDataset

ADE20K_CLASSES = (
    'wall', 'building', 'sky', 'floor', 'tree', 'ceiling', 'road', 'bed',
    'windowpane', 'grass', 'cabinet', 'sidewalk', 'person', 'earth', 'door',
    'table', 'mountain', 'plant', 'curtain', 'chair', 'car', 'water',
    'painting', 'sofa', 'shelf', 'house', 'sea', 'mirror', 'rug', 'field',
    'armchair', 'seat', 'fence', 'desk', 'rock', 'wardrobe', 'lamp',
    'bathtub', 'railing', 'cushion', 'base', 'box', 'column', 'signboard',
    'chest of drawers', 'counter', 'sand', 'sink', 'skyscraper', 'fireplace',
    'refrigerator', 'grandstand', 'path', 'stairs', 'runway', 'case',
    'pool table', 'pillow', 'screen door', 'stairway', 'river', 'bridge',
    'bookcase', 'blind', 'coffee table', 'toilet', 'flower', 'book', 'hill',
    'bench', 'countertop', 'stove', 'palm', 'kitchen island', 'computer',
    'swivel chair', 'boat', 'bar', 'arcade machine', 'hovel', 'bus', 'towel',
    'light', 'truck', 'tower', 'chandelier', 'awning', 'streetlight',
    'booth', 'television receiver', 'airplane', 'dirt track', 'apparel',
    'pole', 'land', 'bannister', 'escalator', 'ottoman', 'bottle', 'buffet',
    'poster', 'stage', 'van', 'ship', 'fountain', 'conveyer belt', 'canopy',
    'washer', 'plaything', 'swimming pool', 'stool', 'barrel', 'basket',
    'waterfall', 'tent', 'bag', 'minibike', 'cradle', 'oven', 'ball', 'food',
    'step', 'tank', 'trade name', 'microwave', 'pot', 'animal', 'bicycle',
    'lake', 'dishwasher', 'screen', 'blanket', 'sculpture', 'hood', 'sconce',
    'vase', 'traffic light', 'tray', 'ashcan', 'fan', 'pier', 'crt screen',
    'plate', 'monitor', 'bulletin board', 'shower', 'radiator', 'glass',
    'clock', 'flag')


@DATASETS.register_module()
class ADE20KDataset(BaseDenseDataset):
    """ADE20K as in mmsegmentation::

        ade/ADEChallengeData2016/images/{training,validation}/*.jpg
        ade/ADEChallengeData2016/annotations/{training,validation}/*.png

    ``data_prefix=dict(img_path='images/validation',
    seg_map_path='annotations/validation')``; the image folder is scanned
    (or a split file lists ``img_path seg_map_path``). Labels 0 (other) ->
    255, 1..150 -> 0..149. Protocol ``'ade20k'``.
    """

    METAINFO = dict(dataset_name='ade20k', classes=ADE20K_CLASSES)
    DEFAULT_COLUMNS = ('img_path', 'seg_map_path')
    REDUCE_ZERO_LABEL = True
    PROTOCOL = 'ade20k'

    def scan_folder(self):
        img_dir = self.data_prefix.get('img_path') or self.data_root
        seg_dir = self.data_prefix.get('seg_map_path')
        infos = []
        for img in self._scan(img_dir, ['.jpg']):
            info = dict(img_path=img)
            if seg_dir:
                rel = osp.relpath(img, img_dir)[:-len('.jpg')] + '.png'
                info['seg_map_path'] = osp.join(seg_dir, rel)
            infos.append(info)
        return infos
