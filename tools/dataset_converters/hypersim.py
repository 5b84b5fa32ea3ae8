"""Convert Hypersim renders to Marigold's training format (RGB + depth PNGs).

Usage::

    python tools/dataset_converters/hypersim.py HYPERSIM_ROOT \
        metadata_images_split_scene_v1.csv data/hypersim [--split train]

For every row of the official split CSV with ``included_in_public_release``
(and the chosen ``split_partition_name``) it reads::

    <root>/<scene>/images/scene_<cam>_final_hdf5/frame.NNNN.color.hdf5
    <root>/<scene>/images/scene_<cam>_geometry_hdf5/frame.NNNN.depth_meters.hdf5
    <root>/<scene>/images/scene_<cam>_geometry_hdf5/frame.NNNN.render_entity_id.hdf5

and writes ``<out>/<split>/<scene>/rgb_<cam>_frNNNN.png`` (tone-mapped
uint8) and ``depth_plane_<cam>_frNNNN.png`` (uint16 mm planar depth, 0 =
invalid) plus ``<out>/filename_list_<split>.txt`` ("rgb depth" per line).

Marigold's recipe: tone-map so the 90th percentile of brightness
(0.3 R + 0.59 G + 0.11 B over valid pixels) becomes 0.8 after gamma 1/2.2;
``depth_meters`` is the distance from the camera centre, converted to planar
(z) depth with focal 886.81 px (1024x768); pixels with
``render_entity_id == -1`` (no geometry) or non-finite distance are invalid.
Needs h5py (imported lazily).
"""
import argparse
import csv
import os
import os.path as osp

import cv2
import numpy as np

FOCAL = 886.81  # px, for Hypersim's 1024x768 renders


def tone_map(rgb: np.ndarray, valid: np.ndarray, percentile: float = 90,
             target: float = 0.8, gamma: float = 1 / 2.2) -> np.ndarray:
    """HDR (H, W, 3) float -> [0, 1] float, Hypersim's reference recipe."""
    brightness = 0.3 * rgb[..., 0] + 0.59 * rgb[..., 1] + 0.11 * rgb[..., 2]
    values = brightness[valid & np.isfinite(brightness)]
    current = np.percentile(values, percentile) if values.size else 0.0
    # An all-dark or all-invalid frame gets scale 0 (black), as upstream.
    scale = 0.0 if current < 1e-4 else np.power(target, 1 / gamma) / current
    out = np.power(np.maximum(scale * np.nan_to_num(rgb), 0), gamma)
    return np.clip(out, 0, 1)


def distance_to_planar(distance: np.ndarray, focal: float = FOCAL
                       ) -> np.ndarray:
    """Ray length from the camera centre (H, W) -> z-depth (H, W)."""
    h, w = distance.shape
    x = np.linspace(-0.5 * w + 0.5, 0.5 * w - 0.5, w)[None].repeat(h, 0)
    y = np.linspace(-0.5 * h + 0.5, 0.5 * h - 0.5, h)[:, None].repeat(w, 1)
    norm = np.sqrt(x ** 2 + y ** 2 + focal ** 2)
    return distance / norm * focal


def convert_frame(color: np.ndarray, distance: np.ndarray,
                  entity_id: np.ndarray, focal: float = FOCAL):
    """Return (uint8 RGB (H, W, 3), uint16 depth mm (H, W))."""
    if color.shape[:2] != distance.shape or distance.shape != entity_id.shape:
        raise ValueError(f'shape mismatch: color {color.shape}, depth '
                         f'{distance.shape}, entity {entity_id.shape}')
    valid = (entity_id != -1) & np.isfinite(distance)
    rgb = (tone_map(color, valid) * 255 + 0.5).astype(np.uint8)
    depth = distance_to_planar(np.nan_to_num(distance, nan=0.0,
                                             posinf=0.0), focal)
    depth[~valid] = 0
    mm = np.clip(np.round(depth * 1000), 0, 65535).astype(np.uint16)
    return rgb, mm


def _read_h5(path: str) -> np.ndarray:
    try:
        import h5py
    except ImportError as exc:
        raise ImportError('reading Hypersim needs h5py: pip install h5py'
                          ) from exc
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path!r} not found')
    with h5py.File(path, 'r') as f:
        return np.asarray(f['dataset'])


def convert(root: str, split_csv: str, out_dir: str,
            split: str = 'train') -> int:
    lines = []
    with open(split_csv) as f:
        for row in csv.DictReader(f):
            if row.get('included_in_public_release', 'True') != 'True':
                continue
            if row['split_partition_name'] != split:
                continue
            scene, cam = row['scene_name'], row['camera_name']
            frame = int(row['frame_id'])
            img_dir = osp.join(root, scene, 'images')
            stem = f'frame.{frame:04d}'
            color = _read_h5(osp.join(img_dir, f'scene_{cam}_final_hdf5',
                                      f'{stem}.color.hdf5'))
            geo = osp.join(img_dir, f'scene_{cam}_geometry_hdf5')
            dist = _read_h5(osp.join(geo, f'{stem}.depth_meters.hdf5'))
            ent = _read_h5(osp.join(geo, f'{stem}.render_entity_id.hdf5'))
            rgb, mm = convert_frame(color, dist, ent)
            rel_rgb = f'{split}/{scene}/rgb_{cam}_fr{frame:04d}.png'
            rel_dep = f'{split}/{scene}/depth_plane_{cam}_fr{frame:04d}.png'
            os.makedirs(osp.join(out_dir, split, scene), exist_ok=True)
            cv2.imwrite(osp.join(out_dir, rel_rgb),
                        cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            cv2.imwrite(osp.join(out_dir, rel_dep), mm)
            lines.append(f'{rel_rgb} {rel_dep}')
    with open(osp.join(out_dir, f'filename_list_{split}.txt'), 'w') as f:
        f.write('\n'.join(lines) + ('\n' if lines else ''))
    return len(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='Hypersim root (scene folders)')
    parser.add_argument('split_csv',
                        help='metadata_images_split_scene_v1.csv')
    parser.add_argument('out_dir')
    parser.add_argument('--split', default='train',
                        choices=['train', 'val', 'test'])
    args = parser.parse_args(argv)
    n = convert(args.root, args.split_csv, args.out_dir, args.split)
    print(f'{args.split}: {n} frames -> {args.out_dir}')


if __name__ == '__main__':
    main()
