"""Which results-dict keys are pixel maps, and how geometry treats each kind.

Every geometric transform (resize, pad, crop, flip) walks the same table so a
new map kind is added in one place: a row of
:data:`unidense.structures.sample_fields.SAMPLE_FIELDS`. Keys follow
``docs/advanced_guides/interfaces.md`` section 1.
"""
import numpy as np

from unidense.structures.sample_fields import GT_PIXEL_FIELDS, SAMPLE_FIELDS

# key -> (kind, pad value), from the sample-field table. Kinds decide
# interpolation: 'image' bilinear, everything else nearest (depth must not
# blend across occlusion edges, labels must stay integers, masks must stay
# boolean; normals are renormalised after any resampling).
MAP_FIELDS = {
    'img': ('image', 0),
    **{
        name: (SAMPLE_FIELDS[name].kind, SAMPLE_FIELDS[name].pad_value)
        for name in GT_PIXEL_FIELDS
    }
}

def present_maps(results: dict, shape=None):
    """Return the map keys present in ``results``.

    If ``shape`` (H, W) is given, only maps of that spatial size are
    returned - test pipelines keep ground truth at the file resolution while
    the image is resized, and those maps must be left alone.
    """
    keys = []
    for key in MAP_FIELDS:
        value = results.get(key)
        if isinstance(value, np.ndarray):
            if shape is None or tuple(value.shape[:2]) == tuple(shape[:2]):
                keys.append(key)
    return keys


def renormalize_normals(normal: np.ndarray) -> np.ndarray:
    """Scale (H, W, 3) vectors to unit length; zero vectors stay zero."""
    norm = np.linalg.norm(normal, axis=-1, keepdims=True)
    out = np.where(norm > 1e-6, normal / np.maximum(norm, 1e-6), 0.0)
    return out.astype(np.float32)
