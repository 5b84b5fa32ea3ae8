"""IoUMetric: hand-computed values, real NYU 13-class labels, bad input."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from unidense.evaluation import IoUMetric

LABEL_DIR = osp.join(osp.dirname(__file__), '..', '..', '..', 'shared',
                     'data', 'realdata', 'nyu_depth_v2', 'test_labels_13')


def _sample(pred, gt, name='s.png', field='sem_seg'):
    return {f'pred_{field}': dict(data=torch.as_tensor(pred)[None]),
            f'gt_{field}': dict(data=torch.as_tensor(gt)[None]),
            'img_path': name}


def test_hand_computed_with_ignore():
    m = IoUMetric(class_names=['a', 'b'])
    m.process({}, [_sample([[0, 1, 1, 0]], [[0, 0, 1, 255]])])
    res = m.compute_metrics(m.results)
    assert res['mIoU'] == pytest.approx(50.0)
    assert res['aAcc'] == pytest.approx(200.0 / 3)
    assert res['mAcc'] == pytest.approx(75.0)
    # Accumulated over the dataset, not averaged per image; a class absent
    # from both maps does not enter the mean.
    m = IoUMetric(num_classes=3)
    m.process({}, [_sample([[0, 0]], [[0, 0]]), _sample([[1, 0]], [[1, 1]])])
    res = m.compute_metrics(m.results)
    # class 0: TP 2, FP 1 -> 2/3; class 1: TP 1, FN 1 -> 1/2
    assert res['mIoU'] == pytest.approx(100 * (2 / 3 + 1 / 2) / 2)


def test_human_parsing_fields_and_dataset_meta():
    m = IoUMetric(pred_field='pred_parsing', gt_field='gt_parsing',
                  classes_key='parsing_classes')
    m.dataset_meta = dict(classes=['x'] * 21,
                          parsing_classes=['bg', 'head', 'torso'])
    m.process({}, [_sample([[0, 1, 2]], [[0, 1, 1]], field='parsing')])
    assert len(m.results[0]['intersect']) == 3
    res = m.compute_metrics(m.results)
    assert res['mIoU'] == pytest.approx(100 * (1 + 0.5 + 0) / 3)


def test_real_nyu_labels_perfect_prediction():
    path = osp.join(LABEL_DIR, 'new_nyu_class13_0001.png')
    lab = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert lab is not None, path
    # 0 = void -> ignore; 1..13 -> 0..12
    gt = np.where(lab == 0, 255, lab.astype(np.int64) - 1)
    m = IoUMetric(num_classes=13)
    pred = np.where(gt == 255, 0, gt)
    m.process({}, [_sample(pred, gt, path)])
    res = m.compute_metrics(m.results)
    assert res['mIoU'] == 100.0 and res['aAcc'] == 100.0
    shifted = (pred + 1) % 13
    m = IoUMetric(num_classes=13)
    m.process({}, [_sample(shifted, gt, path)])
    assert m.compute_metrics(m.results)['aAcc'] == 0.0


def test_bad_input():
    m = IoUMetric(num_classes=2)
    with pytest.raises(ValueError, match=r'bad\.png has ids \[5\]'):
        m.process({}, [_sample([[0]], [[5]], 'bad.png')])
    with pytest.raises(ValueError, match='shape'):
        m.process({}, [_sample([[0, 1]], [[0]])])
    with pytest.raises(ValueError, match='no class names'):
        IoUMetric().process({}, [_sample([[0]], [[0]])])
    m = IoUMetric(num_classes=2)
    m.process({}, [_sample([[0]], [[255]])])
    assert m.compute_metrics(m.results) == dict(num_images=1)
