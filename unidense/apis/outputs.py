"""Writing inference results to disk: PNG, 16-bit PNG, NPY, PLY and GLB.

Every file is written atomically (a temporary file in the same folder,
then ``os.replace``), so an interrupted run never leaves a half-written
output that a resumed run would take as done.

Conventions (also in docs/user_guides/inference.md):

* depth ``png16``: affine-invariant depth in [0, 1] as ``round(d *
  65535)``; metric depth in millimetres (``round(m * 1000)``, as KITTI /
  NYU tooling reads it); ``png``: colour-mapped (near red, 'Spectral').
* normals ``png``: ``(n + 1) / 2 * 255`` per channel; ``npy``: unit
  vectors (H, W, 3) float32.
* labels ``png``: class ids (uint8, or uint16 past 255); ``png`` colour
  file ``*_color.png`` with the label palette.
* ``ply`` / ``glb``: the depth map back-projected through a pinhole camera
  (``fov_deg`` horizontal, default 60) into a coloured mesh; affine-
  invariant depth is mapped to distances 1..3 (its shape, not a scale).
"""
import contextlib
import json
import os
import os.path as osp
import struct
import tempfile
from typing import Dict, Optional, Sequence

import numpy as np

#: output formats per task
FORMATS = {
    'depth': ('png16', 'png', 'npy', 'ply', 'glb'),
    'normals': ('png', 'npy'),
    'seg': ('png', 'npy'),
    'parsing': ('png', 'npy'),
    'saliency': ('png', 'npy'),
    'edge': ('png', 'npy'),
}
SUFFIXES = {'png16': '_{task}16.png', 'png': '_{task}.png',
            'npy': '_{task}.npy', 'ply': '_{task}.ply',
            'glb': '_{task}.glb'}


@contextlib.contextmanager
def atomic_path(path: str):
    """Yield a temporary path next to ``path`` (same extension); on success
    it replaces ``path``, on error it is removed."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=osp.splitext(path)[1],
                               prefix='.tmp_')
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def output_paths(out_dir: str, stem: str, task: str,
                 formats: Sequence[str]) -> Dict[str, str]:
    """``{format: path}`` of one input's outputs (``<stem>_depth16.png``
    ...). Raises ValueError for a format the task has not."""
    bad = [f for f in formats if f not in FORMATS[task]]
    if bad:
        raise ValueError(f'{task}: unknown output format(s) {bad}; choose '
                         f'from {list(FORMATS[task])}')
    return {f: osp.join(out_dir, stem + SUFFIXES[f].format(task=task))
            for f in formats}


def write_png_atomic(path: str, array: np.ndarray) -> None:
    import cv2
    arr = array[..., ::-1] if array.ndim == 3 else array   # RGB -> BGR
    with atomic_path(path) as tmp:
        if not cv2.imwrite(tmp, np.ascontiguousarray(arr)):
            raise OSError(f'could not write {path}')


def write_npy_atomic(path: str, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        np.save(tmp, array)


def depth_to_png16(depth: np.ndarray, kind: str) -> np.ndarray:
    """(H, W) depth -> uint16 (see module doc for the two conventions)."""
    if kind == 'metric_depth':
        return np.round(np.clip(depth * 1000.0, 0, 65535)).astype(np.uint16)
    return np.round(np.clip(depth, 0, 1) * 65535).astype(np.uint16)


def pinhole_points(depth: np.ndarray, kind: str, fov_deg: float = 60.0
                   ) -> np.ndarray:
    """(H, W) depth -> (H * W, 3) float32 camera-frame points (x right, y
    up, z away from the camera)."""
    h, w = depth.shape
    z = depth.astype(np.float64)
    if kind != 'metric_depth':          # relative: a shape at distance 1..3
        z = 1.0 + 2.0 * np.clip(z, 0, 1)
    f = 0.5 * w / np.tan(np.deg2rad(fov_deg) / 2)
    u, v = np.meshgrid(np.arange(w) + 0.5 - w / 2, np.arange(h) + 0.5 - h / 2)
    pts = np.stack([u * z / f, -v * z / f, z], -1)
    return pts.reshape(-1, 3).astype(np.float32)


def grid_faces(height: int, width: int) -> np.ndarray:
    """(F, 3) int32 triangles over an H x W vertex grid (row-major)."""
    from unidense.pipelines.rgbd_export import panorama_mesh_faces
    return panorama_mesh_faces(height, width, wrap=False)


def write_glb(path: str, points: np.ndarray, colors: np.ndarray,
              faces: Optional[np.ndarray] = None) -> str:
    """A binary glTF 2.0 file: one mesh of ``points`` (N, 3) float32 with
    vertex ``colors`` (N, 3) uint8 and triangle ``faces`` (F, 3) (points
    only when None). Opens in Blender, three.js, Windows 3D Viewer."""
    points = np.ascontiguousarray(points, dtype='<f4')
    colors = np.ascontiguousarray(
        np.concatenate([colors, np.full((len(colors), 1), 255)], 1),
        dtype=np.uint8)                 # RGBA: 4-byte aligned per vertex
    blobs = [points.tobytes(), colors.tobytes()]
    accessors = [
        dict(bufferView=0, componentType=5126, count=len(points),
             type='VEC3', min=points.min(0).tolist(),
             max=points.max(0).tolist()),
        dict(bufferView=1, componentType=5121, normalized=True,
             count=len(colors), type='VEC4'),
    ]
    primitive = dict(attributes=dict(POSITION=0, COLOR_0=1), mode=0)
    if faces is not None and len(faces):
        blobs.append(np.ascontiguousarray(faces, dtype='<u4').tobytes())
        accessors.append(dict(bufferView=2, componentType=5125,
                              count=int(np.size(faces)), type='SCALAR'))
        primitive.update(indices=2, mode=4)
    views, offset = [], 0
    for blob in blobs:
        views.append(dict(buffer=0, byteOffset=offset,
                          byteLength=len(blob)))
        offset += len(blob)     # every blob is a multiple of 4 bytes
    gltf = dict(asset=dict(version='2.0', generator='unidense'),
                scene=0, scenes=[dict(nodes=[0])], nodes=[dict(mesh=0)],
                meshes=[dict(primitives=[primitive])], accessors=accessors,
                bufferViews=views, buffers=[dict(byteLength=offset)])
    text = json.dumps(gltf, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 4)
    binary = b''.join(blobs)
    body = (struct.pack('<II', len(text), 0x4E4F534A) + text +
            struct.pack('<II', len(binary), 0x004E4942) + binary)
    with atomic_path(path) as tmp, open(tmp, 'wb') as f:
        f.write(struct.pack('<III', 0x46546C67, 2, 12 + len(body)) + body)
    return path


def write_mesh(path: str, fmt: str, rgb: np.ndarray, depth: np.ndarray,
               kind: str, fov_deg: float = 60.0) -> None:
    """A coloured mesh of one depth map as PLY or GLB."""
    from unidense.pipelines.rgbd_export import write_ply
    points = pinhole_points(depth, kind, fov_deg)
    colors = rgb.reshape(-1, 3)
    faces = grid_faces(*depth.shape)
    if fmt == 'glb':
        write_glb(path, points, colors, faces)
        return
    with atomic_path(path) as tmp:
        write_ply(tmp, points, colors, faces)


def write_dense_map(paths: Dict[str, str], dense_map, rgb: np.ndarray,
                    fov_deg: float = 60.0) -> None:
    """Write one :class:`~unidense.apis.DenseMap` in the formats of
    ``paths`` (:func:`output_paths`); ``rgb`` (H, W, 3) uint8 colours the
    meshes and label overlays."""
    from unidense.visualization.colorize import (colorize_depth,
                                                 colorize_labels)
    data, task, kind = dense_map.data, dense_map.task, dense_map.kind
    for fmt, path in paths.items():
        if fmt == 'npy':
            write_npy_atomic(path, data)
        elif fmt == 'png16':
            write_png_atomic(path, depth_to_png16(data, kind))
        elif fmt in ('ply', 'glb'):
            write_mesh(path, fmt, rgb, data, kind, fov_deg)
        elif task == 'depth':
            write_png_atomic(path, colorize_depth(data, mask=np.isfinite(data)))
        elif task == 'normals':
            write_png_atomic(path, np.round((np.clip(data, -1, 1) + 1) * 127.5)
                       .astype(np.uint8))
        elif task in ('seg', 'parsing'):
            write_png_atomic(path, data.astype(np.uint8 if data.max(initial=0) <
                                         256 else np.uint16))
            write_png_atomic(path[:-4] + '_color.png', colorize_labels(data))
        else:                                     # probabilities
            write_png_atomic(path, np.round(np.clip(data, 0, 1) * 255)
                       .astype(np.uint8))
