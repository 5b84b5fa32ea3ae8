"""Convert NYU Depth V2's ``nyu_depth_v2_labeled.mat`` into PNG folders.

Usage::

    python tools/dataset_converters/nyu_labeled_mat.py \
        nyu_depth_v2_labeled.mat splits.mat data/nyu_v2 \
        [--map40 classMapping40.mat] [--splits train test]

Writes (index = 0-based position in the 1449 labelled frames, 5 digits,
matching DenseDepth's ``nyu2_test`` names)::

    data/nyu_v2/images/{train,test}/00000.png     RGB, 640x480
    data/nyu_v2/depth/{train,test}/00000.png      uint16 millimetres
    data/nyu_v2/labels40/{train,test}/00000.png   uint8, 0 void, 1..40
    data/nyu_v2/labels13/{train,test}/00000.png   uint8, 0 void, 1..13
    data/nyu_v2/{train,test}.txt      "images/.. depth/.. labels40/.."
    data/nyu_v2/{train,test}_13.txt   "images/.. depth/.. labels13/.."

``splits.mat`` holds ``trainNdxs`` (795) and ``testNdxs`` (654), 1-based.
The 894 raw classes map to 40 with ``mapClass`` from ``classMapping40.mat``
(ankurhanda/nyuv2-meta-data); 40 -> 13 uses Couprie et al.'s table
(``class13Mapping.mat``), built in below. Without ``--map40`` no labels are
written.

The official file is MATLAB v7.3 (HDF5) and needs h5py; older v5 files are
read with scipy. HDF5 stores MATLAB arrays transposed: images come as
(N, 3, W, H), depth/labels as (N, W, H).
"""
import argparse
import os
import os.path as osp
import sys

import cv2
import numpy as np

# classMapping13.labels13: 40-class id k (1-based) -> 13-class id.
LABELS13_OF_40 = np.array(
    [12, 5, 6, 1, 4, 9, 10, 12, 13, 6, 8, 6, 13, 10, 6, 13, 6, 7, 7, 5, 7, 3,
     2, 6, 11, 7, 7, 7, 7, 7, 7, 6, 7, 7, 7, 7, 7, 7, 6, 7], np.uint8)


_HDF5_SIGNATURE = b'\x89HDF\r\n\x1a\n'


def _is_hdf5(path: str) -> bool:
    """HDF5 files start with a signature at 0 or at a power-of-two user
    block offset (MATLAB v7.3 uses 512)."""
    with open(path, 'rb') as f:
        head = f.read(4096 + 8)
    return any(head[o:o + 8] == _HDF5_SIGNATURE
               for o in (0, 512, 1024, 2048, 4096))


class LabeledMat:
    """Random access to frames of the labelled .mat, v5 or v7.3."""

    def __init__(self, path: str):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path!r} not found')
        self._h5 = None
        if _is_hdf5(path):
            # MATLAB v7.3 = HDF5 (behind a 512-byte MATLAB user block).
            try:
                import h5py
            except ImportError as exc:
                raise ImportError(
                    f'{path!r} is a MATLAB v7.3 (HDF5) file; reading it '
                    f'needs h5py: pip install h5py') from exc
            self._h5 = h5py.File(path, 'r')
            for key in ('images', 'depths'):
                if key not in self._h5:
                    raise KeyError(f'{path!r} has no {key!r}; found '
                                   f'{sorted(self._h5.keys())}')
            self.images = self._h5['images']
            self.depths = self._h5['depths']
            self.labels = self._h5['labels'] if 'labels' in self._h5 \
                else None
            self.num = self.images.shape[0]
            return
        import scipy.io as sio
        mat = sio.loadmat(path)
        found = sorted(k for k in mat if not k.startswith('__'))
        for key in ('images', 'depths'):
            if key not in mat:
                raise KeyError(f'{path!r} has no {key!r}; found {found}')
        self.images, self.depths = mat['images'], mat['depths']
        self.labels = mat.get('labels')
        self.num = self.images.shape[-1]

    def frame(self, i: int):
        if self._h5 is not None:
            img = np.asarray(self.images[i]).transpose(2, 1, 0)
            depth = np.asarray(self.depths[i]).T
            label = None if self.labels is None else \
                np.asarray(self.labels[i]).T
        else:
            img = self.images[..., i]
            depth = self.depths[..., i]
            label = None if self.labels is None else self.labels[..., i]
        return img, depth, label

    def close(self):
        if self._h5 is not None:
            self._h5.close()


def load_splits(path: str) -> dict:
    import scipy.io as sio
    mat = sio.loadmat(path)
    out = {}
    for split, key in (('train', 'trainNdxs'), ('test', 'testNdxs')):
        if key not in mat:
            raise KeyError(f'{path!r} has no {key!r}')
        out[split] = mat[key].ravel().astype(np.int64) - 1  # to 0-based
    return out


def load_map40(path: str) -> np.ndarray:
    import scipy.io as sio
    mat = sio.loadmat(path)
    if 'mapClass' not in mat:
        raise KeyError(f'{path!r} has no mapClass (894 -> 40 table)')
    # Index 0 (void) stays 0; raw class c (1..894) -> mapClass[c - 1].
    return np.concatenate([[0], mat['mapClass'].ravel()]).astype(np.uint8)


def _write(path: str, arr: np.ndarray):
    os.makedirs(osp.dirname(path), exist_ok=True)
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(path, arr):
        raise IOError(f'cannot write {path!r}')


def convert(mat_path: str, splits_path: str, out_dir: str,
            map40_path: str = None, splits=('train', 'test')) -> dict:
    """Convert; returns {split: number of frames written}."""
    data = LabeledMat(mat_path)
    index = load_splits(splits_path)
    map40 = load_map40(map40_path) if map40_path else None
    counts = {}
    try:
        for split in splits:
            lines, lines13 = [], []
            for i in index[split]:
                if not 0 <= i < data.num:
                    raise IndexError(f'{splits_path}: index {i + 1} outside '
                                     f'the {data.num} frames of {mat_path}')
                img, depth, label = data.frame(int(i))
                name = f'{i:05d}.png'
                img_rel = f'images/{split}/{name}'
                dep_rel = f'depth/{split}/{name}'
                _write(osp.join(out_dir, img_rel),
                       np.ascontiguousarray(img.astype(np.uint8)))
                depth = np.nan_to_num(depth.astype(np.float64), nan=0.0)
                mm = np.clip(np.round(depth * 1000), 0, 65535)
                _write(osp.join(out_dir, dep_rel), mm.astype(np.uint16))
                if map40 is not None and label is not None:
                    lab = np.clip(label.astype(np.int64), 0, len(map40) - 1)
                    l40 = map40[lab]
                    l13 = np.where(l40 > 0, LABELS13_OF_40[
                        np.maximum(l40.astype(np.int64) - 1, 0)], 0)
                    l40_rel = f'labels40/{split}/{name}'
                    l13_rel = f'labels13/{split}/{name}'
                    _write(osp.join(out_dir, l40_rel), l40.astype(np.uint8))
                    _write(osp.join(out_dir, l13_rel), l13.astype(np.uint8))
                    lines.append(f'{img_rel} {dep_rel} {l40_rel}')
                    lines13.append(f'{img_rel} {dep_rel} {l13_rel}')
                else:
                    lines.append(f'{img_rel} {dep_rel}')
            with open(osp.join(out_dir, f'{split}.txt'), 'w') as f:
                f.write('\n'.join(lines) + '\n')
            if lines13:
                with open(osp.join(out_dir, f'{split}_13.txt'), 'w') as f:
                    f.write('\n'.join(lines13) + '\n')
            counts[split] = len(lines)
    finally:
        data.close()
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('mat', help='nyu_depth_v2_labeled.mat')
    parser.add_argument('splits', help='splits.mat (trainNdxs/testNdxs)')
    parser.add_argument('out_dir')
    parser.add_argument('--map40', help='classMapping40.mat (mapClass)')
    parser.add_argument('--splits', dest='which', nargs='+',
                        default=['train', 'test'],
                        choices=['train', 'test'])
    args = parser.parse_args(argv)
    counts = convert(args.mat, args.splits, args.out_dir, args.map40,
                     args.which)
    for split, n in counts.items():
        print(f'{split}: {n} frames -> {args.out_dir}')
    if not args.map40:
        print('no --map40 given: labels not written', file=sys.stderr)


if __name__ == '__main__':
    main()
