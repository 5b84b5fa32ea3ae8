"""LoadEdge: boundary maps for the multi-task heads (InvPT / TaskPrompter)."""
from typing import Optional

import numpy as np

from unidense.registry import TRANSFORMS
from .base_transform import BaseTransform
from .loading import read_array, squeeze_channel


def label_boundaries(label: np.ndarray, ignore_index: int = 255
                     ) -> np.ndarray:
    """(H, W) {0, 1} float32 map of pixels whose 4-neighbourhood holds
    another (non-ignored) label: a one-pixel-wide boundary on each side."""
    edge = np.zeros(label.shape, bool)
    for a, b in (((slice(1, None), slice(None)), (slice(None, -1),
                                                  slice(None))),
                 ((slice(None), slice(1, None)), (slice(None),
                                                  slice(None, -1)))):
        la, lb = label[a], label[b]
        diff = (la != lb) & (la != ignore_index) & (lb != ignore_index)
        edge[a] |= diff
        edge[b] |= diff
    return edge.astype(np.float32)


@TRANSFORMS.register_module()
class LoadEdge(BaseTransform):
    """Fill ``gt_edge`` (H, W) float32 in [0, 1].

    From ``edge_path`` (NYUD-MT's ``edge/<id>.png``, read as v / 255; add
    ``edge_path='edge/{}.png'`` to the dataset's ``templates``), or, without
    a file, from the boundaries of a label map already loaded
    (``from_key``, e.g. ``'gt_sem_seg'``: PASCAL-Context's edges are the
    boundaries of its context labels; a one-pixel boundary on each side, not
    the thinned Laplacian of ATRC's packaging). A ``gt_edge`` already in the
    results is kept.

    Args:
        from_key (str, optional): label map to derive edges from when there
            is no ``edge_path``.
        threshold (float, optional): binarise a loaded map at this value.
        ignore_index (int): label value that makes no boundary.
    """

    def __init__(self, from_key: Optional[str] = 'gt_sem_seg',
                 threshold: Optional[float] = 0.5, ignore_index: int = 255):
        self.from_key = from_key
        self.threshold = threshold
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        path = results.get('edge_path')
        if path is not None:
            edge = squeeze_channel(read_array(path, 'edge_path'))
            if edge.ndim == 3:
                edge = edge[..., 0]
            scale = 65535.0 if edge.dtype == np.uint16 else (
                255.0 if edge.dtype == np.uint8 else 1.0)
            edge = edge.astype(np.float32) / scale
            if self.threshold is not None:
                edge = (edge > self.threshold).astype(np.float32)
            results['gt_edge'] = np.clip(edge, 0, 1)
        elif 'gt_edge' not in results:
            if self.from_key is None or self.from_key not in results:
                raise KeyError(f'LoadEdge: results has neither edge_path nor '
                               f'gt_edge nor {self.from_key}')
            results['gt_edge'] = label_boundaries(
                np.asarray(results[self.from_key]), self.ignore_index)
        return results
