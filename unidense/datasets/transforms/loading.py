"""Loading transforms: image, depth (+ dataset masks), normals, labels.

All loaders read the path from the results dict (``img_path``,
``depth_path``, ``depth_mask_path``, ``normal_path``, ``seg_map_path``,
``parsing_path``, ``saliency_path``). If the target array is already in the
dict and no path is given (e.g. :class:`SyntheticScenes` renders its maps),
the loader leaves it as it is, so one pipeline serves file datasets and
procedural ones alike.

No mmcv: files are read with OpenCV (PNG/JPEG, 16-bit kept), numpy
(``.npy``/``.npz``/raw float32) or h5py (``.h5``, imported lazily).
"""
import os.path as osp
import warnings
from typing import Optional, Sequence

import cv2
import numpy as np

from unidense.registry import TRANSFORMS
from .base_transform import BaseTransform


def _check_file(path: str, key: str) -> str:
    if not path or not osp.isfile(path):
        raise FileNotFoundError(f'{key}: file not found: {path!r}')
    return path


def imread_any(path: str, key: str = 'path') -> np.ndarray:
    """Read a PNG/JPEG/PPM/PGM keeping its bit depth; colour comes back RGB."""
    _check_file(path, key)
    arr = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if arr is None:
        # cv2 refuses some valid files (e.g. unusual PNG chunks); PIL is a
        # slower but broader fallback.
        from PIL import Image
        try:
            with Image.open(path) as im:
                arr = np.array(im)
            return arr
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f'{key}: cannot decode image {path!r}') from exc
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGB)
    return arr


def read_array(path: str, key: str, fmt: str = 'auto',
               raw_shape: Optional[Sequence[int]] = None,
               h5_key: str = 'depth') -> np.ndarray:
    """Read a 2-D or 3-D array from an image, npy/npz, raw float32 or h5."""
    _check_file(path, key)
    if fmt == 'auto':
        ext = osp.splitext(path)[1].lower()
        fmt = {'.npy': 'npy', '.npz': 'npz', '.h5': 'h5', '.hdf5': 'h5',
               '.bin': 'raw_float32', '.raw': 'raw_float32'}.get(ext, 'image')
    if fmt == 'image':
        return imread_any(path, key)
    if fmt == 'npy':
        return np.load(path, allow_pickle=False)
    if fmt == 'npz':
        with np.load(path, allow_pickle=False) as z:
            return z[z.files[0]]
    if fmt == 'raw_float32':
        arr = np.fromfile(path, dtype=np.float32)
        if raw_shape is None:
            raise ValueError(f'{key}: raw float32 file {path!r} needs '
                             f'raw_shape=(H, W) (or the image loaded first)')
        h, w = int(raw_shape[0]), int(raw_shape[1])
        if arr.size != h * w:
            raise ValueError(f'{key}: raw file {path!r} holds {arr.size} '
                             f'floats, expected {h}x{w}={h * w}')
        return arr.reshape(h, w)
    if fmt == 'h5':
        try:
            import h5py
        except ImportError as exc:
            raise ImportError(f'{key}: reading {path!r} needs h5py '
                              f'(pip install h5py)') from exc
        with h5py.File(path, 'r') as f:
            if h5_key not in f:
                raise KeyError(f'{key}: {path!r} has no dataset {h5_key!r}; '
                               f'found {list(f.keys())}')
            return np.asarray(f[h5_key])
    raise ValueError(f'{key}: unknown file format {fmt!r}')


def squeeze_channel(arr: np.ndarray) -> np.ndarray:
    """Drop a trailing (H, W, 1) or leading (1, H, W) channel axis only;
    ``np.squeeze`` would also eat a spatial axis of size 1."""
    if arr.ndim == 3 and arr.shape[2] == 1:
        return arr[..., 0]
    if arr.ndim == 3 and arr.shape[0] == 1 and arr.shape[2] != 3:
        return arr[0]
    return arr


@TRANSFORMS.register_module()
class LoadImage(BaseTransform):
    """Load ``img_path`` as (H, W, 3) uint8 RGB.

    Sets ``img``, ``ori_shape`` and ``img_shape`` (H, W). Grey images are
    replicated to 3 channels; 16-bit images are scaled to 8 bits.
    """

    def transform(self, results: dict) -> dict:
        path = results.get('img_path')
        if path is None and 'img' in results:
            img = results['img']
        else:
            img = imread_any(path, 'img_path')
        if img.dtype == np.uint16:
            img = (img // 257).astype(np.uint8)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f'img_path {path!r}: expected an 8-bit RGB '
                             f'image, got {img.dtype} {img.shape}')
        results['img'] = np.ascontiguousarray(img)
        results['ori_shape'] = img.shape[:2]
        results['img_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadDepth(BaseTransform):
    """Load ``depth_path`` as metres into ``gt_depth`` + ``gt_depth_valid``.

    Args:
        depth_scale: file units per metre (1000 for mm PNGs, 256 for KITTI,
            5000 for TUM, 100 for vKITTI cm). ``None`` uses the dataset's
            ``depth_scale`` from the results dict (1 if absent).
        file_format: 'auto' (by extension), 'image', 'npy', 'npz',
            'raw_float32' (ETH3D; shape taken from the loaded image or
            ``raw_shape``) or 'h5' (MegaDepth, key ``h5_key``).
        invalid_values: file values that mean "no depth" besides 0/inf/NaN
            (e.g. 65535 for some uint16 formats).
        bit_rotation: SUN RGB-D's PNGs store ``(mm << 3) | (mm >> 13)``.
        use_depth_range: also require ``depth_range[0] < d < depth_range[1]``
            (the dataset's valid range) in ``gt_depth_valid``.

    ``gt_depth`` is (H, W) float32 metres with 0 where the value is
    non-finite, zero, negative or listed in ``invalid_values``; depth outside
    ``depth_range`` is kept but marked invalid.
    """

    def __init__(self, depth_scale: Optional[float] = None,
                 file_format: str = 'auto',
                 invalid_values: Sequence[float] = (),
                 bit_rotation: bool = False,
                 raw_shape: Optional[Sequence[int]] = None,
                 h5_key: str = 'depth',
                 use_depth_range: bool = True):
        self.depth_scale = depth_scale
        self.file_format = file_format
        self.invalid_values = tuple(invalid_values)
        self.bit_rotation = bit_rotation
        self.raw_shape = raw_shape
        self.h5_key = h5_key
        self.use_depth_range = use_depth_range

    def transform(self, results: dict) -> dict:
        path = results.get('depth_path')
        if path is None:
            if 'gt_depth' not in results:
                raise KeyError('LoadDepth: results has neither depth_path '
                               'nor gt_depth')
            depth = np.asarray(results['gt_depth'], dtype=np.float32)
        else:
            raw_shape = self.raw_shape
            if raw_shape is None and 'img' in results:
                raw_shape = results['img'].shape[:2]
            raw = read_array(path, 'depth_path', self.file_format,
                             raw_shape, self.h5_key)
            raw = squeeze_channel(raw)
            if raw.ndim != 2:
                raise ValueError(f'depth_path {path!r}: expected a (H, W) '
                                 f'depth map, got shape {raw.shape}')
            if self.bit_rotation:
                if raw.dtype != np.uint16:
                    raise ValueError(f'depth_path {path!r}: bit_rotation '
                                     f'needs uint16, got {raw.dtype}')
                raw = ((raw >> 3) | (raw << 13)).astype(np.uint16)
            invalid = np.zeros(raw.shape, bool)
            for value in self.invalid_values:
                invalid |= raw == value
            scale = self.depth_scale
            if scale is None:
                scale = results.get('depth_scale', 1.0) or 1.0
            depth = raw.astype(np.float32) / np.float32(scale)
            depth[invalid] = 0
            results['depth_scale'] = float(scale)
        if 'img' in results and depth.shape != results['img'].shape[:2]:
            raise ValueError(f'depth_path {path!r}: depth shape '
                             f'{depth.shape} != image shape '
                             f'{results["img"].shape[:2]} '
                             f'({results.get("img_path")})')
        bad = ~np.isfinite(depth) | (depth <= 0)
        depth = np.where(bad, 0, depth).astype(np.float32)
        valid = ~bad
        rng = results.get('depth_range')
        if self.use_depth_range and rng is not None:
            lo, hi = float(rng[0]), float(rng[1])
            valid &= (depth > lo) & (depth < hi)
        if 'gt_depth_valid' in results and path is None:
            valid &= np.asarray(results['gt_depth_valid'], bool)
        results['gt_depth'] = depth
        results['gt_depth_valid'] = valid
        return results


@TRANSFORMS.register_module()
class LoadDepthMask(BaseTransform):
    """AND a dataset-provided validity mask (``depth_mask_path``) into
    ``gt_depth_valid`` (DIODE ``*_depth_mask.npy``; any non-zero = valid).

    Run after :class:`LoadDepth`. Missing ``depth_mask_path`` is a no-op.
    """

    def transform(self, results: dict) -> dict:
        path = results.get('depth_mask_path')
        if path is None:
            return results
        if 'gt_depth_valid' not in results:
            raise KeyError('LoadDepthMask: run LoadDepth first')
        mask = squeeze_channel(read_array(path, 'depth_mask_path')) != 0
        if mask.shape != results['gt_depth_valid'].shape:
            raise ValueError(f'depth_mask_path {path!r}: mask shape '
                             f'{mask.shape} != depth shape '
                             f'{results["gt_depth_valid"].shape}')
        results['gt_depth_valid'] = results['gt_depth_valid'] & mask
        return results


@TRANSFORMS.register_module()
class LoadNormal(BaseTransform):
    """Load ``normal_path`` into ``gt_normal`` (H, W, 3) float32 unit vectors.

    PNGs use Bae et al.'s encoding n = 2 v / 255 - 1 with (0, 0, 0) marking
    invalid pixels; ``.npy`` files hold the vectors directly. Axes: x right,
    y down, z towards the camera. Sets ``gt_normal_valid``; invalid vectors
    are zero.

    Args:
        flip_axes: per-axis signs applied after decoding, for datasets
            stored in another convention, e.g. (1, -1, -1) for an OpenGL
            (y up, z backwards) file.
    """

    def __init__(self, flip_axes: Sequence[float] = (1, 1, 1)):
        self.flip_axes = tuple(float(s) for s in flip_axes)

    def transform(self, results: dict) -> dict:
        path = results.get('normal_path')
        if path is None:
            if 'gt_normal' not in results:
                raise KeyError('LoadNormal: results has neither normal_path '
                               'nor gt_normal')
            normal = np.asarray(results['gt_normal'], np.float32)
            invalid = ~np.any(normal != 0, axis=-1)
        else:
            raw = read_array(path, 'normal_path')
            if raw.ndim != 3 or raw.shape[2] != 3:
                raise ValueError(f'normal_path {path!r}: expected (H, W, 3), '
                                 f'got {raw.shape}')
            if raw.dtype == np.uint8:
                invalid = np.all(raw == 0, axis=-1)
                normal = raw.astype(np.float32) * (2.0 / 255.0) - 1.0
            elif raw.dtype == np.uint16:
                invalid = np.all(raw == 0, axis=-1)
                normal = raw.astype(np.float32) * (2.0 / 65535.0) - 1.0
            else:
                normal = raw.astype(np.float32)
                invalid = ~np.all(np.isfinite(normal), axis=-1) | np.all(
                    normal == 0, axis=-1)
                normal = np.nan_to_num(normal, nan=0, posinf=0, neginf=0)
            normal = normal * np.asarray(self.flip_axes, np.float32)
        norm = np.linalg.norm(normal, axis=-1)
        invalid = invalid | (norm < 1e-3)
        normal = np.where(invalid[..., None], 0,
                          normal / np.maximum(norm, 1e-6)[..., None])
        if 'img' in results and normal.shape[:2] != results['img'].shape[:2]:
            raise ValueError(f'normal_path {path!r}: shape {normal.shape[:2]}'
                             f' != image shape {results["img"].shape[:2]}')
        results['gt_normal'] = normal.astype(np.float32)
        results['gt_normal_valid'] = ~invalid
        return results


@TRANSFORMS.register_module()
class LoadSemSeg(BaseTransform):
    """Load a label map (uint8/uint16 PNG or .npy) as (H, W) int64.

    Args:
        key: results key to fill ('gt_sem_seg' or 'gt_parsing').
        path_key: results key with the file path.
        reduce_zero_label: 0 (void) -> 255, k -> k - 1 (ADE20K, NYUD-MT).
            ``None`` uses the dataset's ``reduce_zero_label`` meta.
        label_map: optional {old_id: new_id} applied first (e.g. NYU 40 ->
            13 classes); unmapped ids keep their value.
        ignore_index: the value for ignored pixels.
        fill_missing: a sample without a file (``path_key`` is None, e.g. a
            PASCAL image with no person for human parts) gets an all-ignore
            map of the image size instead of an error, so batches stack.
    """

    def __init__(self, key: str = 'gt_sem_seg', path_key: str = 'seg_map_path',
                 reduce_zero_label: Optional[bool] = None,
                 label_map: Optional[dict] = None, ignore_index: int = 255,
                 fill_missing: bool = False):
        self.fill_missing = fill_missing
        self.key = key
        self.path_key = path_key
        self.reduce_zero_label = reduce_zero_label
        self.label_map = label_map
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        path = results.get(self.path_key)
        if path is None:
            if self.key not in results and self.fill_missing and \
                    'img' in results:
                results[self.key] = np.full(results['img'].shape[:2],
                                            self.ignore_index, np.int64)
            if self.key not in results:
                raise KeyError(f'LoadSemSeg: results has neither '
                               f'{self.path_key} nor {self.key}')
            return results
        label = squeeze_channel(read_array(path, self.path_key))
        if label.ndim == 3:
            # Some tools save labels as 3 equal channels.
            label = label[..., 0]
        if label.ndim != 2:
            raise ValueError(f'{self.path_key} {path!r}: expected (H, W), '
                             f'got {label.shape}')
        label = label.astype(np.int64)
        if self.label_map:
            out = label.copy()
            for old, new in self.label_map.items():
                out[label == old] = new
            label = out
        reduce = self.reduce_zero_label
        if reduce is None:
            reduce = results.get('reduce_zero_label', False)
        if reduce:
            ignore = (label == 0) | (label == self.ignore_index)
            label = label - 1
            label[ignore] = self.ignore_index
        if 'img' in results and label.shape != results['img'].shape[:2]:
            raise ValueError(f'{self.path_key} {path!r}: shape {label.shape}'
                             f' != image shape {results["img"].shape[:2]}')
        results[self.key] = label
        return results


@TRANSFORMS.register_module()
class LoadSaliency(BaseTransform):
    """Load ``saliency_path`` (PNG 0..255) as (H, W) float32 in [0, 1].

    Args:
        threshold: binarise at this value (0.5 for the distilled PASCAL
            saliency used by InvPT/TaskPrompter); ``None`` keeps soft values.
    """

    def __init__(self, threshold: Optional[float] = 0.5):
        self.threshold = threshold

    def transform(self, results: dict) -> dict:
        path = results.get('saliency_path')
        if path is None:
            return results
        sal = squeeze_channel(read_array(path, 'saliency_path'))
        if sal.ndim == 3:
            sal = sal[..., 0]
        scale = 65535.0 if sal.dtype == np.uint16 else (
            255.0 if sal.dtype == np.uint8 else 1.0)
        sal = sal.astype(np.float32) / scale
        if self.threshold is not None:
            sal = (sal > self.threshold).astype(np.float32)
        results['gt_saliency'] = np.clip(sal, 0, 1)
        return results


def warn_once(message: str, _seen=set()):
    """Warn once per distinct message (bad samples repeat every epoch)."""
    if message not in _seen:
        _seen.add(message)
        warnings.warn(message, stacklevel=3)
