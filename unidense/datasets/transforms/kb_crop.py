"""KITTI benchmark (KB) crop: the bottom 352 rows, centred 1216 columns."""
from unidense.registry import TRANSFORMS
from .base_transform import BaseTransform
from .map_fields import present_maps


@TRANSFORMS.register_module()
class KBCrop(BaseTransform):
    """Crop image and ground truth to (height, width) = (352, 1216).

    KITTI frames vary slightly in size (e.g. 375x1242); LiDAR ground truth
    exists only in the lower part, so the crop keeps the bottom rows and
    centres the columns (Marigold, BTS). Because GT is cropped too, the
    crop becomes the evaluation frame: ``ori_shape`` is updated and
    ``kb_crop`` = (top, left) in the file's pixels is recorded.
    """

    def __init__(self, height: int = 352, width: int = 1216):
        self.height = height
        self.width = width

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        if h < self.height or w < self.width:
            raise ValueError(f'KBCrop: image {(h, w)} smaller than '
                             f'{(self.height, self.width)} '
                             f'({results.get("img_path")})')
        top, left = h - self.height, (w - self.width) // 2
        for key in present_maps(results, (h, w)):
            results[key] = results[key][top:top + self.height,
                                        left:left + self.width].copy()
        results['kb_crop'] = (top, left)
        results['ori_shape'] = (self.height, self.width)
        results['img_shape'] = (self.height, self.width)
        intr = results.get('intrinsics')
        if intr is not None:
            intr = [list(map(float, row)) for row in intr]
            intr[0][2] -= left
            intr[1][2] -= top
            results['intrinsics'] = intr
        return results
