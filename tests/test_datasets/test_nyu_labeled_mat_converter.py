"""tools/dataset_converters/nyu_labeled_mat.py on fabricated .mat files."""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import scipy.io as sio

from unidense.datasets import NYUv2Dataset

H, W, N = 4, 6, 3


def _converter(repo_root):
    path = osp.join(repo_root, 'tools', 'dataset_converters',
                    'nyu_labeled_mat.py')
    spec = importlib.util.spec_from_file_location('nyu_labeled_mat', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _frames():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (H, W, 3, N), dtype=np.uint8)
    depths = rng.uniform(0.5, 9.0, (H, W, N)).astype(np.float32)
    labels = np.zeros((H, W, N), np.uint16)
    labels[:, :3] = 5          # raw 5 -> 40 (otherprop) -> 13-class 7
    labels[:, 3:] = 21         # raw class 21 -> 40-class 1 (wall) -> 13: 12
    labels[0, 0] = 0           # void stays void
    return images, depths, labels


def _common(tmp_path):
    sio.savemat(tmp_path / 'splits.mat',
                dict(trainNdxs=np.array([[1], [3]], np.uint16),
                     testNdxs=np.array([[2]], np.uint16)))
    map_class = np.full((1, 894), 40, np.uint8)
    map_class[0, 20] = 1
    sio.savemat(tmp_path / 'classMapping40.mat', dict(mapClass=map_class))


def _check(mod, tmp_path, mat, images, depths):
    out = tmp_path / 'nyu_v2'
    counts = mod.convert(str(mat), str(tmp_path / 'splits.mat'), str(out),
                         str(tmp_path / 'classMapping40.mat'))
    assert counts == dict(train=2, test=1)
    assert (out / 'test.txt').read_text().split() == [
        'images/test/00001.png', 'depth/test/00001.png',
        'labels40/test/00001.png']
    ds = NYUv2Dataset(data_root=str(out), ann_file='test_13.txt',
                      num_classes=13,
                      columns=('img_path', 'depth_path', 'seg_map_path'),
                      pipeline=[dict(type='LoadImage'),
                                dict(type='LoadDepth'),
                                dict(type='LoadSemSeg')])
    r = ds[0]
    np.testing.assert_array_equal(r['img'], images[..., 1])
    np.testing.assert_allclose(r['gt_depth'], depths[..., 1], atol=6e-4)
    seg = r['gt_sem_seg']
    assert seg[0, 0] == 255                 # void
    assert (seg[1:, 3:] == 11).all()        # wall: 13-class id 12 -> 11
    assert (seg[:, :3][seg[:, :3] != 255] == 6).all()  # 40 other -> objects


def test_v5_mat(tmp_path, repo_root):
    mod = _converter(repo_root)
    images, depths, labels = _frames()
    _common(tmp_path)
    sio.savemat(tmp_path / 'labeled.mat',
                dict(images=images, depths=depths, labels=labels))
    _check(mod, tmp_path, tmp_path / 'labeled.mat', images, depths)


def test_v73_hdf5_mat(tmp_path, repo_root):
    h5py = pytest.importorskip('h5py')
    mod = _converter(repo_root)
    images, depths, labels = _frames()
    _common(tmp_path)
    # MATLAB v7.3 stores arrays transposed: (N, 3, W, H) and (N, W, H).
    # Like MATLAB: a 512-byte user block holding the text header.
    with h5py.File(tmp_path / 'labeled73.mat', 'w',
                   userblock_size=512) as f:
        f['images'] = images.transpose(3, 2, 1, 0)
        f['depths'] = depths.transpose(2, 1, 0)
        f['labels'] = labels.transpose(2, 1, 0)
    with open(tmp_path / 'labeled73.mat', 'r+b') as f:
        f.write(b'MATLAB 7.3 MAT-file, Platform: GLNXA64')
    _check(mod, tmp_path, tmp_path / 'labeled73.mat', images, depths)


def test_errors_are_clear(tmp_path, repo_root):
    mod = _converter(repo_root)
    with pytest.raises(FileNotFoundError, match='missing.mat'):
        mod.convert(str(tmp_path / 'missing.mat'), 'x', str(tmp_path))
    sio.savemat(tmp_path / 'bad.mat', dict(foo=np.zeros(2)))
    with pytest.raises(KeyError, match='images'):
        mod.LabeledMat(str(tmp_path / 'bad.mat'))


def test_v73_without_h5py_names_the_fix(tmp_path, repo_root, monkeypatch):
    h5py = pytest.importorskip('h5py')
    mod = _converter(repo_root)
    with h5py.File(tmp_path / 'x.mat', 'w', userblock_size=512) as f:
        f['images'] = np.zeros((1, 3, 2, 2), np.uint8)
    monkeypatch.setitem(__import__('sys').modules, 'h5py', None)
    with pytest.raises(ImportError, match='pip install h5py'):
        mod.LabeledMat(str(tmp_path / 'x.mat'))
