"""Does a generated SyntheticScenes image show the colours its caption
names? A nearest-centroid probe on the wall and floor regions."""
from typing import Dict, List, Sequence

import numpy as np

_SURFACES = ('walls', 'floor')


class SceneColorProbe:
    """Classify the wall and floor colour of 64x64-style room images.

    Fitted on rendered scenes: the *regions* are the pixels that show the
    floor (class 0) or a wall (class 1) in at least ``min_frequency`` of the
    fitting scenes, whatever the camera; the *centroids* are the mean
    region colour of the fitting images per named colour and named
    lighting (a dim white floor looks like a gray one, and the caption says
    which light it is in), so shading and textures are part of what they
    average over. ``accuracy`` on real held-out renders is the probe's
    ceiling.

    Args:
        renders: dicts from ``SyntheticScenes.render`` (``img`` (H, W, 3)
            uint8, ``gt_sem_seg``).
        scene_colors: per render, ``dict(walls=name, floor=name,
            lighting=(brightness, light colour))`` (a render's ``scene``).
    """

    def __init__(self, renders: Sequence[dict],
                 scene_colors: Sequence[Dict[str, str]],
                 min_frequency: float = 0.8):
        seg = np.stack([r['gt_sem_seg'] for r in renders])
        self.regions = {}
        for surface, label in zip(_SURFACES, (1, 0)):
            freq = (seg == label).mean(0)
            region = freq >= min_frequency
            if region.sum() < 16:        # keep the 16 most likely pixels
                region = freq >= np.sort(freq.ravel())[-16]
            self.regions[surface] = region
        self.centroids = {}
        for surface in _SURFACES:
            values = np.stack([self.region_colour(r['img'], surface)
                               for r in renders])
            groups: Dict[tuple, list] = {}
            for value, named in zip(values, scene_colors):
                key = (tuple(named.get('lighting', ())), named[surface])
                groups.setdefault(key, []).append(value)
            self.centroids[surface] = {
                key: np.mean(vals, 0) for key, vals in groups.items()}

    def region_colour(self, image: np.ndarray, surface: str) -> np.ndarray:
        """90th-percentile RGB (0..255) of ``image`` (H, W, 3) over the
        region: the lit, light part of a textured surface, past shadows
        and dark stripes (read 93 % of real walls and floors right, against
        87 % / 67 % for the median)."""
        return np.percentile(image[self.regions[surface]].astype(np.float64),
                             90, axis=0)

    def classify(self, image: np.ndarray, lighting=()) -> Dict[str, str]:
        """``dict(walls=name, floor=name)``: the nearest centroid of the
        named ``lighting`` per surface (all centroids if none was fitted
        for it)."""
        out = {}
        for surface in _SURFACES:
            value = self.region_colour(image, surface)
            cands = {k: v for k, v in self.centroids[surface].items()
                     if k[0] == tuple(lighting)} or self.centroids[surface]
            keys = list(cands)
            dists = [np.linalg.norm(value - cands[k]) for k in keys]
            out[surface] = keys[int(np.argmin(dists))][1]
        return out

    def accuracy(self, images: Sequence[np.ndarray],
                 scene_colors: Sequence[Dict[str, str]]) -> Dict[str, float]:
        """Fractions of images whose walls / floor / both are classified as
        named (``walls``, ``floor``, ``both``)."""
        hits: Dict[str, List[bool]] = {s: [] for s in _SURFACES}
        for image, named in zip(images, scene_colors):
            got = self.classify(image, named.get('lighting', ()))
            for surface in _SURFACES:
                hits[surface].append(got[surface] == named[surface])
        out = {s: float(np.mean(v)) for s, v in hits.items()}
        out['both'] = float(np.mean([a and b for a, b in zip(
            hits['walls'], hits['floor'])]))
        return out
