"""Depth for videos and frame sequences without flicker.

Affine-invariant depth estimators (Marigold, MERGE, JointNet rgb2j) choose
a scale and shift per image, so the depth of consecutive frames jumps even
when the scene does not: the flicker users of Marigold and Lotus ask about
most. :class:`TemporalDepthAligner` fits each frame's scale and shift
(least squares, float64) to a running reference of the frames before it, so
the sequence shares one affine frame; the reference is an exponential
average of the aligned frames (``momentum`` = weight of the newest), which
follows real scene changes while damping per-frame jumps.
"""
import os.path as osp
from typing import Iterator, Optional, Tuple

import numpy as np

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v')


def is_video(path: str) -> bool:
    return osp.isfile(path) and path.lower().endswith(VIDEO_EXTENSIONS)


def read_video_frames(path: str) -> Iterator[Tuple[str, np.ndarray]]:
    """``(frame_000000, (H, W, 3) uint8 RGB)`` for every frame of a video.

    Raises:
        ValueError: the file does not open as a video or has no frames.
    """
    import cv2
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise ValueError(f'{path}: not a readable video')
    index = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield f'frame_{index:06d}', frame[..., ::-1].copy()
            index += 1
    finally:
        cap.release()
    if index == 0:
        raise ValueError(f'{path}: no frames could be read')


class TemporalDepthAligner:
    """Align each frame's affine-invariant depth to the frames before it.

    Args:
        momentum: weight of the newest aligned frame in the reference
            (1 = align to the previous frame only).
        reference: (H, W) aligned depth to start from (resuming a
            sequence); None starts with the first frame as it is.
    """

    def __init__(self, momentum: float = 0.5,
                 reference: Optional[np.ndarray] = None):
        if not 0 < momentum <= 1:
            raise ValueError(f'momentum must be in (0, 1], got {momentum}')
        self.momentum = float(momentum)
        self.reference = None if reference is None else \
            np.asarray(reference, np.float64)

    def __call__(self, depth: np.ndarray) -> np.ndarray:
        """(H, W) depth -> (H, W) float32 depth in the reference's frame."""
        from unidense.evaluation.functional.depth_alignment import \
            align_depth_least_squares
        d = np.asarray(depth, np.float64)
        if self.reference is None:
            aligned = d
        elif self.reference.shape != d.shape:
            raise ValueError(f'frame of shape {d.shape} after frames of '
                             f'shape {self.reference.shape}')
        else:
            valid = np.isfinite(d) & np.isfinite(self.reference)
            aligned = np.asarray(align_depth_least_squares(
                d, self.reference, valid)[0], np.float64)
        m = self.momentum
        self.reference = aligned if self.reference is None else \
            (1 - m) * self.reference + m * aligned
        return aligned.astype(np.float32)


def flicker(depths) -> float:
    """Mean absolute change between consecutive frames (same units as the
    depth), the figure :class:`TemporalDepthAligner` lowers."""
    depths = [np.asarray(d, np.float64) for d in depths]
    if len(depths) < 2:
        return 0.0
    return float(np.mean([np.abs(b - a).mean()
                          for a, b in zip(depths, depths[1:])]))
