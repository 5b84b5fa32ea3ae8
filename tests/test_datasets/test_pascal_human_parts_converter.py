"""tools/dataset_converters/pascal_human_parts.py on fabricated .mat files."""
import importlib.util
import os
import os.path as osp

import cv2
import numpy as np
import scipy.io as sio

from unidense.datasets import PascalContextMTDataset


def _mod(repo_root):
    path = osp.join(repo_root, 'tools', 'dataset_converters',
                    'pascal_human_parts.py')
    spec = importlib.util.spec_from_file_location('parts_conv', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _anno(objects, h=6, w=8):
    """PASCAL-Part layout: anno = struct(imname, objects(class, class_ind,
    mask, parts(part_name, mask)))."""
    obj_dtype = [('class', 'O'), ('class_ind', 'O'), ('mask', 'O'),
                 ('parts', 'O')]
    objs = np.empty((1, len(objects)), dtype=obj_dtype)
    for j, (cls, ind, mask, parts) in enumerate(objects):
        part_arr = np.empty((1, len(parts)),
                            dtype=[('part_name', 'O'), ('mask', 'O')])
        for k, (name, pmask) in enumerate(parts):
            part_arr[0, k] = (name, pmask.astype(np.uint8))
        if not parts:
            part_arr = np.zeros((0, 0))
        objs[0, j] = (cls, np.array([[ind]]), mask.astype(np.uint8),
                      part_arr)
    anno = np.empty((1, 1), dtype=[('imname', 'O'), ('objects', 'O')])
    anno[0, 0] = ('x', objs)
    return dict(anno=anno)


def test_parts_png_and_dataset(tmp_path, repo_root):
    mod = _mod(repo_root)
    root = tmp_path / 'PASCAL_MT'
    os.makedirs(root / 'human_parts')
    os.makedirs(root / 'ImageSets/Context')
    os.makedirs(root / 'JPEGImages')
    h, w = 6, 8
    head = np.zeros((h, w), bool)
    head[0, :2] = True
    leg = np.zeros((h, w), bool)
    leg[5, :] = True
    person = head | leg
    sio.savemat(root / 'human_parts/a.mat', _anno([
        ('person', 15, person, [('hair', head), ('rfoot', leg)]),
        ('dog', 12, np.ones((h, w), bool), [('head', np.ones((h, w)))]),
    ]))
    sio.savemat(root / 'human_parts/b.mat', _anno([
        ('person', 15, person, []),              # person without parts
    ]))
    for sid in ('a', 'b', 'c'):
        cv2.imwrite(str(root / f'JPEGImages/{sid}.jpg'),
                    np.zeros((h, w, 3), np.uint8))
    (root / 'ImageSets/Context/val.txt').write_text('a\nb\nc\n')
    stats = mod.convert(str(root), ['ImageSets/Context/val.txt'])
    assert stats == dict(written=1, without_parts=2)
    png = cv2.imread(str(root / 'human_parts/a.png'), cv2.IMREAD_UNCHANGED)
    assert png[0, 0] == 1 and png[5, 3] == 6 and png[2, 2] == 0
    assert not (root / 'human_parts/b.png').exists()

    ds = PascalContextMTDataset(
        data_root=str(root), test_mode=True, tasks=('human_parts',),
        pipeline=[dict(type='LoadImage'),
                  dict(type='LoadSemSeg', key='gt_parsing',
                       path_key='parsing_path', fill_missing=True)])
    assert ds[0]['gt_parsing'][5, 0] == 6
    assert (ds[1]['gt_parsing'] == 255).all()
    assert (ds[2]['gt_parsing'] == 255).all()
