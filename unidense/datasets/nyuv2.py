"""NYU Depth V2 (labelled 1449 frames: 795 train / 654 test)."""
import os.path as osp

from unidense.registry import DATASETS
from .base_dense_dataset import BaseDenseDataset

# Couprie et al. 13 classes, ids 1..13 in class13Mapping.mat order (0 void).
NYU13_CLASSES = ('bed', 'books', 'ceiling', 'chair', 'floor', 'furniture',
                 'objects', 'picture', 'sofa', 'table', 'tv', 'wall',
                 'window')
# Gupta et al. 40 classes, ids 1..40 (0 void); also NYUD-MT's label set.
NYU40_CLASSES = (
    'wall', 'floor', 'cabinet', 'bed', 'chair', 'sofa', 'table', 'door',
    'window', 'bookshelf', 'picture', 'counter', 'blinds', 'desk', 'shelves',
    'curtain', 'dresser', 'pillow', 'mirror', 'floor mat', 'clothes',
    'ceiling', 'books', 'refridgerator', 'television', 'paper', 'towel',
    'shower curtain', 'box', 'whiteboard', 'person', 'night stand', 'toilet',
    'sink', 'lamp', 'bathtub', 'bag', 'otherstructure', 'otherfurniture',
    'otherprop')
# RGB camera of the Kinect v1 rig used for all NYU frames (pixels, 640x480).
NYU_INTRINSICS = [[518.8579, 0.0, 325.5824], [0.0, 519.4696, 253.7362],
                  [0.0, 0.0, 1.0]]


@DATASETS.register_module()
class NYUv2Dataset(BaseDenseDataset):
    """NYUv2 depth (+ optional labels and Bae normals), 640x480.

    Split-file columns (``columns``) choose what is loaded; common ones:

    - Eigen / Marigold test (654 lines): ``img_path depth_path
      [filled_depth_path]``, e.g. ``test/bathroom/rgb_0045.png
      test/bathroom/depth_0045.png test/bathroom/filled_0045.png``;
    - converter output (``tools/dataset_converters/nyu_labeled_mat.py``):
      ``img_path depth_path seg_map_path``;
    - Bae et al. normals: ``img_path normal_path`` with
      ``columns=('img_path', 'normal_path')``.

    Without a split file, ``data_root`` is scanned for DenseDepth's
    ``NNNNN_colors.png`` / ``NNNNN_depth.png`` pairs; with
    ``data_prefix=dict(seg_map_path=DIR)`` each pair also gets its 13-class
    label ``DIR/new_nyu_class13_MMMM.png`` (MMMM = NNNNN + 1, the layout of
    ankurhanda/nyuv2-meta-data's ``test_labels_13``) when it exists.

    Depth: uint16 PNG millimetres (``depth_scale`` 1000), valid (1e-3, 10) m,
    protocol ``'nyu'`` (Eigen crop rows 45:471, cols 41:601 at evaluation).
    Labels: 0 = void -> 255, classes 1..K -> 0..K-1 (``num_classes`` 13 or
    40 picks ``METAINFO.classes``).
    """

    METAINFO = dict(dataset_name='nyu_v2', classes=NYU40_CLASSES)
    DEPTH_SCALE = 1000.0
    DEPTH_RANGE = (1e-3, 10.0)
    PROTOCOL = 'nyu'
    INTRINSICS = NYU_INTRINSICS
    REDUCE_ZERO_LABEL = True

    def __init__(self, num_classes: int = 40, **kwargs):
        if num_classes not in (13, 40):
            raise ValueError(f'NYUv2Dataset: num_classes must be 13 or 40, '
                             f'got {num_classes}')
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        metainfo.setdefault('classes', NYU13_CLASSES if num_classes == 13
                            else NYU40_CLASSES)
        self.num_classes = num_classes
        super().__init__(metainfo=metainfo, **kwargs)

    def scan_folder(self):
        files = self._scan(self.data_prefix.get('img_path') or
                           self.data_root, ['_colors.png'])
        label_dir = self.data_prefix.get('seg_map_path')
        infos = []
        for img in files:
            stem = img[:-len('_colors.png')]
            depth = stem + '_depth.png'
            info = dict(img_path=img, depth_path=depth
                        if osp.isfile(depth) else None)
            if label_dir:
                index = int(osp.basename(stem)) + 1
                label = osp.join(label_dir,
                                 f'new_nyu_class13_{index:04d}.png')
                info['seg_map_path'] = label if osp.isfile(label) else None
            infos.append(info)
        return infos
