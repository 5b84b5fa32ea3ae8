"""tools/infer.py: dense maps over folders and videos (resumable, aligned in
time), generation and panoramas, every output format readable."""
import json
import os
import os.path as osp
import struct

import cv2
import numpy as np
import pytest

from tools.infer import main
from unidense.apis.video import TemporalDepthAligner, flicker

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MERGE_TINY = osp.join(REPO, 'configs/merge/pixart_depth_tiny.py')
JOINTNET_TINY = osp.join(REPO, 'configs/jointnet/sd21_rgbd_tiny.py')
FAST = ['--steps', '1', '--no-progress']


def read_glb(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic, version, length = struct.unpack('<III', data[:12])
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    json_len, kind = struct.unpack('<II', data[12:20])
    assert kind == 0x4E4F534A
    return json.loads(data[20:20 + json_len])


def test_aligner_removes_affine_flicker():
    rng = np.random.default_rng(0)
    base = rng.random((12, 16))
    frames = [s * base + b for s, b in rng.uniform(0.3, 2.0, (6, 2))]
    aligner = TemporalDepthAligner(momentum=0.5)
    aligned = [aligner(f) for f in frames]
    assert flicker(frames) > 0.1
    assert flicker(aligned) < 1e-5
    with pytest.raises(ValueError, match='momentum'):
        TemporalDepthAligner(momentum=0)


def test_depth_folder_all_formats_and_resume(tmp_path):
    src = tmp_path / 'imgs'
    src.mkdir()
    rng = np.random.default_rng(1)
    cv2.imwrite(str(src / 'a.png'), (rng.random((40, 56, 3)) * 255)
                .astype(np.uint8))
    cv2.imwrite(str(src / 'b.png'), (rng.random((32, 32)) * 65535)
                .astype(np.uint16))
    out = str(tmp_path / 'out')
    args = ['depth', MERGE_TINY, '--input', str(src), '--out-dir', out,
            '--ensemble-size', '1', '--formats', 'png16', 'png', 'npy',
            'ply', 'glb'] + FAST
    assert main(args) == dict(done=2, skipped=0)
    depth16 = cv2.imread(osp.join(out, 'b_depth16.png'), cv2.IMREAD_UNCHANGED)
    assert depth16.dtype == np.uint16 and depth16.shape == (32, 32)
    npy = np.load(osp.join(out, 'a_depth.npy'))
    assert npy.shape == (40, 56)
    assert cv2.imread(osp.join(out, 'a_depth.png')).shape == (40, 56, 3)
    gltf = read_glb(osp.join(out, 'a_depth.glb'))
    assert gltf['accessors'][0]['count'] == 40 * 56
    assert gltf['accessors'][2]['count'] == 3 * 2 * 39 * 55
    with open(osp.join(out, 'a_depth.ply'), 'rb') as f:
        assert b'element vertex 2240' in f.read(200)
    assert not [f for f in os.listdir(out) if f.startswith('.tmp_')]
    # a rerun skips what is done; a lost file is redone
    os.remove(osp.join(out, 'b_depth.npy'))
    assert main(args) == dict(done=1, skipped=1)
    with pytest.raises(ValueError, match="depth: unknown output format"):
        main(args[:-4] + ['--formats', 'jpg'] + FAST)


def test_video_depth_aligned_in_time(tmp_path):
    video = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 5,
                             (48, 32))
    rng = np.random.default_rng(2)
    scene = (rng.random((32, 48, 3)) * 255).astype(np.uint8)
    for k in range(4):
        writer.write(np.roll(scene, k, axis=1))
    writer.release()
    out = str(tmp_path / 'out')
    args = ['depth', MERGE_TINY, '--input', video, '--out-dir', out,
            '--align-frames', '--batch-size', '2'] + FAST
    result = main(args)
    assert result['done'] == 4
    assert result['flicker_aligned'] <= result['flicker_raw']
    assert sorted(f for f in os.listdir(out) if f.endswith('.npy')) == [
        f'frame_{k:06d}_depth.npy' for k in range(4)]
    os.remove(osp.join(out, 'frame_000003_depth16.png'))
    assert main(args)['done'] == 1


def test_generate_and_panorama(tmp_path):
    out = str(tmp_path / 'gen')
    args = ['generate', MERGE_TINY, '--prompt', 'a room with red walls',
            '--prompt', 'a room with a blue floor', '--out-dir', out] + FAST
    assert main(args) == dict(done=2, skipped=0)
    assert cv2.imread(osp.join(out, '00001_rgb.png')).shape == (64, 64, 3)
    assert main(args) == dict(done=0, skipped=2)
    assert 'a room with a blue floor' in open(
        osp.join(out, 'prompts.txt')).read()
    pano = str(tmp_path / 'pano')
    paths = main(['panorama', JOINTNET_TINY, '--prompt', 'a room',
                  '--out-dir', pano, '--guidance', '1', '--formats', 'png',
                  'png16', 'ply', 'glb'] + FAST)
    assert cv2.imread(paths['rgb']).shape == (64, 256, 3)
    gltf = read_glb(paths['glb'])
    assert gltf['accessors'][0]['count'] == 64 * 256
    # 360 degrees: the mesh closes its seam (W quads per row, not W - 1)
    assert gltf['accessors'][2]['count'] == 3 * 2 * 63 * 256
