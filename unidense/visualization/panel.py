"""Side-by-side panels of images with titles, written as PNG."""
import os
import os.path as osp
from typing import Optional, Sequence

import cv2
import numpy as np

__all__ = ['make_panel', 'write_png']


def write_png(path: str, rgb: np.ndarray) -> str:
    """Write an (H, W, 3) uint8 RGB array as PNG, creating parent folders."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if not cv2.imwrite(path, np.ascontiguousarray(rgb[..., ::-1])):
        raise OSError(f'could not write {path}')
    return path


def make_panel(images: Sequence[np.ndarray],
               titles: Optional[Sequence[str]] = None,
               out_file: Optional[str] = None,
               height: Optional[int] = None,
               min_height: int = 160,
               gap: int = 4,
               title_height: int = 22) -> np.ndarray:
    """Put images in one row, each under its title.

    Args:
        images: (H_i, W_i, 3) uint8 RGB (or (H, W) grey) arrays; each is
            resized (nearest, so label colours and invalid pixels stay
            crisp) to a common height, keeping its aspect ratio.
        titles: one string per image (drawn in white on a dark bar).
        out_file: if given, the panel is also written there as PNG.
        height: common height; default the tallest image, but at least
            ``min_height`` so that tiny-config outputs (32x32) stay readable
            and their titles do not overlap.

    Returns:
        (title_height + height, sum of widths + gaps, 3) uint8 RGB.
    """
    if not images:
        raise ValueError('make_panel: no images')
    if titles is not None and len(titles) != len(images):
        raise ValueError(f'make_panel: {len(images)} images but '
                         f'{len(titles)} titles')
    imgs = []
    for i, img in enumerate(images):
        img = np.asarray(img)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f'make_panel: image {i} must be (H, W, 3) uint8,'
                             f' got {img.shape} {img.dtype}')
        imgs.append(img)
    h = int(height or max(min_height, max(im.shape[0] for im in imgs)))
    resized = []
    for im in imgs:
        w = max(1, int(round(im.shape[1] * h / im.shape[0])))
        if im.shape[:2] != (h, w):
            im = cv2.resize(im, (w, h), interpolation=cv2.INTER_NEAREST)
        resized.append(im)
    th = title_height if titles is not None else 0
    total_w = sum(im.shape[1] for im in resized) + gap * (len(resized) - 1)
    panel = np.full((th + h, total_w, 3), 32, dtype=np.uint8)
    x = 0
    for i, im in enumerate(resized):
        panel[th:, x:x + im.shape[1]] = im
        if titles is not None:
            scale = max(0.35, min(0.6, im.shape[1] / 400))
            cv2.putText(panel, str(titles[i]), (x + 3, th - 6),
                        cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                        cv2.LINE_AA)
        x += im.shape[1] + gap
    if out_file is not None:
        write_png(out_file, panel)
    return panel
