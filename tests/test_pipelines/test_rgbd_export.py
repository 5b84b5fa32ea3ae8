"""RGB-D outputs: 16-bit depth PNGs, colour maps, panorama PLY export."""
import numpy as np
import torch

from unidense.pipelines.rgbd_export import (export_panorama,
                                            load_depth_png16,
                                            panorama_mesh_faces,
                                            panorama_to_points,
                                            save_depth_png16, write_ply)


def test_depth_png16_round_trips_at_16_bits(tmp_path):
    d = torch.linspace(0, 1, 64 * 48).view(1, 48, 64)
    path = save_depth_png16(str(tmp_path / 'd.png'), d)
    back = load_depth_png16(path)
    assert back.shape == (48, 64)
    assert np.abs(back - d[0].numpy()).max() <= 0.51 / 65535
    # more than 256 distinct levels survive (no 8-bit clipping)
    assert len(np.unique(back)) > 256
    stretched = load_depth_png16(save_depth_png16(
        str(tmp_path / 's.png'), 0.25 + 0.5 * d, normalize=True))
    assert stretched.min() == 0 and stretched.max() == 1


def test_cylinder_geometry():
    depth = np.full((2, 4), 2.0)
    pts, cols = panorama_to_points(np.zeros((2, 4, 3), np.uint8), depth,
                                   span_deg=360.0)
    pts = pts.reshape(2, 4, 3)
    radius = np.hypot(pts[..., 0], pts[..., 2])
    assert np.allclose(radius, 2.0)
    # longitude (u + 0.5) / W * 360: column 0 at 45 degrees
    assert np.allclose(np.arctan2(pts[0, 0, 2], pts[0, 0, 0]),
                       np.deg2rad(45))
    # vertical field of view span * H / W = 180: rows at +-45 degrees
    assert np.allclose(pts[0, :, 1], 2.0) and np.allclose(pts[1, :, 1], -2.0)
    disp = panorama_to_points(np.zeros((2, 4, 3), np.uint8),
                              np.full((2, 4), 0.5), disparity=True)[0]
    assert np.allclose(np.hypot(disp[:, 0], disp[:, 2]), 2.0)


def test_mesh_faces_close_the_seam_of_a_360_panorama():
    open_faces = panorama_mesh_faces(3, 5)
    closed = panorama_mesh_faces(3, 5, wrap=True)
    assert len(open_faces) == 2 * 2 * 4 and len(closed) == 2 * 2 * 5
    assert {0, 4} <= set(closed[(closed == 0).any(1)].ravel().tolist())


def test_ply_files(tmp_path):
    pts = np.random.rand(6, 3).astype(np.float32)
    path = write_ply(str(tmp_path / 'm.ply'), pts,
                     np.full((6, 3), 7, np.uint8),
                     panorama_mesh_faces(2, 3))
    raw = open(path, 'rb').read()
    header, body = raw.split(b'end_header\n')
    assert b'element vertex 6' in header and b'element face 4' in header
    assert len(body) == 6 * 15 + 4 * 13
    verts = np.frombuffer(body[:90], dtype=[('p', '<f4', 3), ('c', 'u1', 3)])
    assert np.array_equal(verts['p'], pts) and (verts['c'] == 7).all()


def test_export_panorama_writes_every_file(tmp_path):
    out = export_panorama(str(tmp_path / 'pano'), torch.rand(3, 8, 32),
                          torch.rand(1, 8, 32), span_deg=180.0)
    assert sorted(out) == ['depth', 'depth_color', 'image', 'mesh', 'pcd']
    for path in out.values():
        assert (tmp_path / path.split('/')[-1]).stat().st_size > 0
