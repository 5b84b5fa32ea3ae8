"""Writing JointNet's outputs: 16-bit depth PNGs, colour maps, and RGB-D
panoramas as PLY point clouds / meshes (no open3d needed).

* :func:`save_depth_png16` - a [0, 1] map as a 16-bit grey PNG
  (``round(x * 65535)``), optionally stretched between its 1st and 99th
  percentiles (the official ``--normalize``); :func:`load_depth_png16`
  reads it back (8- and 16-bit files, no clipping through 8 bits).
* :func:`save_depth_colormap` - the same map colour-mapped (near red with
  'Spectral' for depth, pass ``disparity=True`` for near = bright maps).
* :func:`panorama_to_points` / :func:`panorama_mesh_faces` /
  :func:`write_ply` - the official ``pano2mesh`` geometry on a cylinder:
  longitude ``(u + 0.5) / W * span``, vertical field of view ``span * H /
  W``, a pixel at radius ``r`` maps to ``(r cos lon, r tan(-lat), r sin
  lon)``; two triangles per pixel quad. A 360-degree panorama's mesh closes
  its seam (the official mesh dropped the wrap by cropping the last
  column).
"""
import os
import os.path as osp
from typing import Optional, Tuple

import cv2
import numpy as np
import torch


def _map2d(x) -> np.ndarray:
    a = x.detach().float().cpu().numpy() if torch.is_tensor(x) else \
        np.asarray(x, dtype=np.float64)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f'expected an (H, W) or (1, H, W) map, got '
                         f'{a.shape}')
    return a


def _mkdir(path):
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)


def stretch(x: np.ndarray, low: float = 1.0, high: float = 99.0
            ) -> np.ndarray:
    """Linear stretch of ``x`` between its percentiles, clipped to [0, 1]."""
    lo, hi = np.percentile(x, [low, high])
    return np.clip((x - lo) / max(hi - lo, 1e-12), 0.0, 1.0)


def save_depth_png16(path: str, depth, normalize: bool = False) -> str:
    """(H, W) / (1, H, W) map in [0, 1] -> 16-bit grey PNG at ``path``."""
    d = _map2d(depth)
    d = stretch(d) if normalize else np.clip(d, 0.0, 1.0)
    _mkdir(path)
    if not cv2.imwrite(path, np.round(d * 65535).astype(np.uint16)):
        raise OSError(f'could not write {path}')
    return path


def load_depth_png16(path: str) -> np.ndarray:
    """A grey PNG (8 or 16 bit; a 3-channel file's first channel) ->
    (H, W) float64 in [0, 1]."""
    a = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if a is None:
        raise OSError(f'could not read {path}')
    if a.ndim == 3:
        a = a[..., 0]
    if a.dtype == np.uint16:
        return a.astype(np.float64) / 65535.0
    if a.dtype == np.uint8:
        return a.astype(np.float64) / 255.0
    raise ValueError(f'load_depth_png16: unsupported dtype {a.dtype}')


def save_depth_colormap(path: str, depth, disparity: bool = False,
                        cmap: str = 'Spectral') -> str:
    """Colour-mapped PNG of a [0, 1] map (near red with 'Spectral')."""
    from unidense.visualization.colorize import colorize_depth
    from unidense.visualization.panel import write_png
    d = _map2d(depth)
    return write_png(path, colorize_depth(1.0 - d if disparity else d,
                                          mask=np.isfinite(d), cmap=cmap))


def panorama_to_points(rgb, depth, span_deg: float = 180.0,
                       disparity: bool = False, scale: float = 1.0,
                       shift: float = 0.0, near: float = 1e-5,
                       far: float = 1e5) -> Tuple[np.ndarray, np.ndarray]:
    """Cylindrical RGB-D panorama -> (H * W, 3) points and uint8 colours.

    Args:
        rgb: (3, H, W) in [0, 1] (tensor) or (H, W, 3) uint8 array.
        depth: (H, W) / (1, H, W) map in [0, 1].
        span_deg: horizontal span (180 in the paper, 360 for a wrap).
        disparity: the map is disparity (near = 1, the official JointNet):
            radius = 1 / (clip(d, 1/255, 1) * scale + shift); otherwise
            radius = d * scale + shift.
        near, far: radius clip.
    """
    d = _map2d(depth)
    h, w = d.shape
    if torch.is_tensor(rgb):
        colors = (rgb.detach().float().clamp(0, 1).permute(1, 2, 0).cpu()
                  .numpy() * 255).round().astype(np.uint8)
    else:
        colors = np.asarray(rgb, dtype=np.uint8)
    if colors.shape[:2] != (h, w):
        raise ValueError(f'panorama_to_points: rgb {colors.shape} and depth '
                         f'{d.shape} differ in size')
    if disparity:
        r = 1.0 / (np.clip(d, 1 / 255, 1.0) * scale + shift)
    else:
        r = d * scale + shift
    r = np.clip(r, near, far)
    span = np.deg2rad(span_deg)
    lon = (np.arange(w) + 0.5) / w * span
    lat = ((np.arange(h) + 0.5) / h - 0.5) * span * h / w
    lon, lat = np.meshgrid(lon, lat)
    pts = np.stack([r * np.cos(lon), r * np.tan(-lat), r * np.sin(lon)], -1)
    return pts.reshape(-1, 3).astype(np.float32), colors.reshape(-1, 3)


def panorama_mesh_faces(height: int, width: int,
                        wrap: bool = False) -> np.ndarray:
    """(F, 3) int32 triangles over an H x W pixel grid (row-major
    vertices); ``wrap`` joins the last column to the first."""
    cols = width if wrap else width - 1
    v = np.arange(height * width).reshape(height, width)
    right = np.roll(v, -1, axis=1)
    a, b = v[:-1, :cols], right[:-1, :cols]
    c, d = v[1:, :cols], right[1:, :cols]
    tris = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3),
                           np.stack([b, c, d], -1).reshape(-1, 3)])
    return tris.astype(np.int32)


def write_ply(path: str, points: np.ndarray,
              colors: Optional[np.ndarray] = None,
              faces: Optional[np.ndarray] = None) -> str:
    """Binary little-endian PLY: float xyz, optional uchar rgb, optional
    triangle faces."""
    points = np.asarray(points, dtype='<f4')
    n = len(points)
    fields = [('x', '<f4'), ('y', '<f4'), ('z', '<f4')]
    if colors is not None:
        fields += [('red', 'u1'), ('green', 'u1'), ('blue', 'u1')]
    vert = np.empty(n, dtype=fields)
    vert['x'], vert['y'], vert['z'] = points.T
    header = ['ply', 'format binary_little_endian 1.0', f'element vertex {n}',
              'property float x', 'property float y', 'property float z']
    if colors is not None:
        colors = np.asarray(colors, dtype=np.uint8)
        vert['red'], vert['green'], vert['blue'] = colors.T
        header += ['property uchar red', 'property uchar green',
                   'property uchar blue']
    if faces is not None:
        header += [f'element face {len(faces)}',
                   'property list uchar int vertex_indices']
    header.append('end_header')
    _mkdir(path)
    with open(path, 'wb') as f:
        f.write(('\n'.join(header) + '\n').encode('ascii'))
        f.write(vert.tobytes())
        if faces is not None:
            face = np.empty(len(faces), dtype=[('n', 'u1'), ('i', '<i4', 3)])
            face['n'] = 3
            face['i'] = faces
            f.write(face.tobytes())
    return path


def export_panorama(prefix: str, rgb, depth, span_deg: float = 180.0,
                    disparity: bool = False, mesh: bool = True) -> dict:
    """Write ``<prefix>_image.png``, ``_depth.png`` (16 bit),
    ``_depth_color.png``, ``_pcd.ply`` and (``mesh``) ``_mesh.ply``.

    ``rgb`` (3, H, W) and ``depth`` (1, H, W) in [0, 1] (one panorama of
    :meth:`JointNet.sample`). Returns the written paths by kind.
    """
    from unidense.visualization.panel import write_png
    image = (rgb.detach().float().clamp(0, 1).permute(1, 2, 0).cpu()
             .numpy() * 255).round().astype(np.uint8)
    out = dict(image=write_png(prefix + '_image.png', image),
               depth=save_depth_png16(prefix + '_depth.png', depth),
               depth_color=save_depth_colormap(prefix + '_depth_color.png',
                                               depth, disparity=disparity))
    pts, cols = panorama_to_points(image, depth, span_deg=span_deg,
                                   disparity=disparity)
    out['pcd'] = write_ply(prefix + '_pcd.ply', pts, cols)
    if mesh:
        h, w = image.shape[:2]
        faces = panorama_mesh_faces(h, w, wrap=abs(span_deg - 360) < 1e-6)
        out['mesh'] = write_ply(prefix + '_mesh.ply', pts, cols, faces)
    return out
