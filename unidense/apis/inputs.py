"""Turn whatever a user hands the inference API into RGB float images.

Accepted: a path to an image file, a folder of images (sorted by name), a
numpy array, a torch tensor, a PIL image, or a list of any of these. Arrays
may be grayscale (H, W) / (H, W, 1), RGB (H, W, 3) or RGBA (H, W, 4);
torch tensors may also be channel-first (C, H, W) or a batch (B, C, H, W).
Integer images are scaled by their dtype's range (uint8 / 255, uint16 /
65535, so 16-bit PNGs keep their precision); float images must already be
in [0, 1]. Anything else raises a ``ValueError`` / ``TypeError`` naming
the input at fault.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Any, List, Sequence

import numpy as np

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff',
                    '.webp')


@dataclass
class ImageInput:
    """One input image, normalised.

    Attributes:
        name: where it came from (file path, or ``'input[i]'``).
        rgb: (H, W, 3) float32 in [0, 1].
    """
    name: str
    rgb: np.ndarray

    @property
    def size(self):
        """(H, W) of the input (the size results come back at)."""
        return self.rgb.shape[:2]


def list_images(folder: str) -> List[str]:
    """Image files directly inside ``folder``, sorted by name."""
    files = sorted(f for f in os.listdir(folder)
                   if f.lower().endswith(IMAGE_EXTENSIONS))
    if not files:
        raise ValueError(f'{folder}: no image files '
                         f'({" ".join(IMAGE_EXTENSIONS)}) in this folder')
    return [osp.join(folder, f) for f in files]


def read_image(path: str) -> np.ndarray:
    """An image file as an array of its own dtype and channel count
    (16-bit PNGs stay uint16)."""
    import cv2
    if not osp.isfile(path):
        raise ValueError(f'{path}: no such image file')
    arr = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ValueError(f'{path}: not a readable image (corrupt or an '
                         f'unsupported format)')
    if arr.ndim == 3:     # OpenCV's BGR(A) -> RGB(A)
        arr = arr[..., [2, 1, 0, 3][:arr.shape[2]]]
    return arr


def to_rgb_float(arr: np.ndarray, name: str) -> np.ndarray:
    """(H, W[, C]) array -> (H, W, 3) float32 in [0, 1] (see module doc)."""
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f'{name}: expected an image of shape (H, W), '
                         f'(H, W, 1), (H, W, 3) or (H, W, 4); got '
                         f'{arr.shape}')
    if min(arr.shape[:2]) < 1:
        raise ValueError(f'{name}: empty image of shape {arr.shape}')
    arr = arr[..., :3]    # RGBA: the colour, alpha dropped
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.dtype == np.uint16:
            scale = 65535.0
        elif arr.dtype == np.uint8 or (arr.min() >= 0 and arr.max() <= 255):
            scale = 255.0
        else:
            raise ValueError(f'{name}: integer pixels must be uint8, uint16 '
                             f'or within 0..255; got {arr.dtype} values in '
                             f'[{arr.min()}, {arr.max()}]')
        return (arr.astype(np.float64) / scale).astype(np.float32)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f'{name}: unsupported pixel dtype {arr.dtype}')
    if not np.isfinite(arr).all():
        raise ValueError(f'{name}: NaN or infinite pixel values')
    if arr.min() < 0 or arr.max() > 1:
        raise ValueError(f'{name}: float images must be in [0, 1]; got '
                         f'values in [{arr.min():.4g}, {arr.max():.4g}] '
                         f'(pass uint8 for 0..255)')
    return arr.astype(np.float32)


def _from_tensor(t, name: str) -> List[np.ndarray]:
    """A torch tensor: (H, W), (H, W, C), (C, H, W) or (B, C, H, W)."""
    t = t.detach().cpu()
    if t.dim() == 4:
        return [a for i, x in enumerate(t)
                for a in _from_tensor(x, f'{name}[{i}]')]
    arr = t.numpy()
    if t.dim() == 3 and t.shape[0] in (1, 3, 4) and t.shape[2] not in (1, 3,
                                                                         4):
        arr = np.moveaxis(arr, 0, 2)      # channel-first
    return [arr]


def expand_inputs(images: Any, name: str = 'input') -> List[tuple]:
    """Flatten ``images`` into ``[(name, raw array), ...]``."""
    import torch
    from PIL import Image
    if isinstance(images, (str, os.PathLike)):
        path = os.fspath(images)
        if osp.isdir(path):
            return [(p, read_image(p)) for p in list_images(path)]
        return [(path, read_image(path))]
    if isinstance(images, Image.Image):
        return [(name, np.asarray(images.convert('RGBA') if images.mode in (
            'P', 'LA') else images))]
    if isinstance(images, torch.Tensor):
        arrs = _from_tensor(images, name)
        return [(name if len(arrs) == 1 else f'{name}[{i}]', a)
                for i, a in enumerate(arrs)]
    if isinstance(images, np.ndarray):
        if images.ndim == 4:
            return [(f'{name}[{i}]', a) for i, a in enumerate(images)]
        return [(name, images)]
    if isinstance(images, (list, tuple)):
        out = []
        for i, item in enumerate(images):
            out.extend(expand_inputs(item, f'{name}[{i}]'))
        return out
    raise TypeError(f'{name}: unsupported input type {type(images).__name__}'
                    f' (give a path, folder, numpy array, torch tensor or '
                    f'PIL image)')


def load_inputs(images: Any) -> List[ImageInput]:
    """Every image of ``images`` as an :class:`ImageInput`.

    Raises:
        ValueError: no image given, or an image is malformed (the message
            names it).
    """
    items = [ImageInput(n, to_rgb_float(a, n))
             for n, a in expand_inputs(images)]
    if not items:
        raise ValueError('no input images given')
    return items


def batched(items: Sequence, batch_size: int):
    """Consecutive slices of ``items`` of at most ``batch_size``."""
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    for i in range(0, len(items), batch_size):
        yield i, items[i:i + batch_size]
