"""Virtual KITTI 2 (training data)."""
from unidense.registry import DATASETS
from .base_dense_dataset import BaseDenseDataset


@DATASETS.register_module()
class VKITTI2Dataset(BaseDenseDataset):
    """Virtual KITTI 2, official layout::

        vkitti2/Scene01/clone/frames/rgb/Camera_0/rgb_00000.jpg
        vkitti2/Scene01/clone/frames/depth/Camera_0/depth_00000.png

    Depth: uint16 PNG centimetres (``depth_scale`` 100); sky is stored as
    65535 (655.35 m) and falls outside the valid range (1e-5, 80). Split
    file (Marigold ``vkitti_train.txt``, ~20K lines) gives ``img_path
    [depth_path]``; a missing depth column is derived from the image path.
    Pipelines apply :class:`KBCrop`. Protocol ``'vkitti'``.
    """

    METAINFO = dict(dataset_name='vkitti2')
    DEPTH_SCALE = 100.0
    DEPTH_RANGE = (1e-5, 80.0)
    PROTOCOL = 'vkitti'
    INTRINSICS = [[725.0087, 0.0, 620.5], [0.0, 725.0087, 187.0],
                  [0.0, 0.0, 1.0]]
    SKIP_MISSING_DEPTH = False

    def complete_info(self, info):
        if info.get('depth_path') is None:
            img = info['img_path']
            if '/rgb/' not in img:
                raise ValueError(f'VKITTI2Dataset: cannot derive the depth '
                                 f'path of {img!r} (no /rgb/ folder)')
            head, name = img.rsplit('/', 1)
            info['depth_path'] = head.replace('/rgb/', '/depth/') + '/' + \
                name.replace('rgb_', 'depth_').rsplit('.', 1)[0] + '.png'
        return info
