"""PhotoMetricDistortion on uint8 RGB (geometry untouched)."""
from typing import Sequence

import cv2
import numpy as np

from unidense.registry import TRANSFORMS
from .base_transform import BaseTransform


@TRANSFORMS.register_module()
class PhotoMetricDistortion(BaseTransform):
    """Random brightness, contrast, saturation and hue (mmseg's recipe).

    Each of the four is applied with probability 0.5; contrast goes before
    or after the colour changes at random. Only ``img`` changes.

    Args:
        brightness_delta: max additive shift (0..255 scale).
        contrast_range: multiplicative range.
        saturation_range: multiplicative range on HSV saturation.
        hue_delta: max shift on OpenCV's 0..180 hue.
    """

    def __init__(self, brightness_delta: int = 32,
                 contrast_range: Sequence[float] = (0.5, 1.5),
                 saturation_range: Sequence[float] = (0.5, 1.5),
                 hue_delta: int = 18):
        self.brightness_delta = brightness_delta
        self.contrast_range = tuple(contrast_range)
        self.saturation_range = tuple(saturation_range)
        self.hue_delta = hue_delta

    def transform(self, results: dict) -> dict:
        img = results['img'].astype(np.float32)
        rand = np.random
        if rand.randint(2):
            img += rand.uniform(-self.brightness_delta, self.brightness_delta)
        contrast_first = rand.randint(2)
        if contrast_first and rand.randint(2):
            img *= rand.uniform(*self.contrast_range)
        if rand.randint(2) or rand.randint(2):
            hsv = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8),
                               cv2.COLOR_RGB2HSV).astype(np.float32)
            if rand.randint(2):
                hsv[..., 1] *= rand.uniform(*self.saturation_range)
            if rand.randint(2):
                hsv[..., 0] = (hsv[..., 0] + rand.randint(
                    -self.hue_delta, self.hue_delta + 1)) % 180
            hsv = np.clip(hsv, 0, 255).astype(np.uint8)
            img = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)
        if not contrast_first and rand.randint(2):
            img *= rand.uniform(*self.contrast_range)
        results['img'] = np.clip(img, 0, 255).astype(np.uint8)
        return results
