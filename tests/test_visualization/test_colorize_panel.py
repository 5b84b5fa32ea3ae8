"""Colour maps and panels."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from unidense.visualization import (colorize_depth, colorize_labels,
                                    colorize_normal, label_palette,
                                    make_panel)
from unidense.visualization.colorize import _lut


def test_colorize_depth_range_and_invalid():
    depth = np.array([[1.0, 2.0, 3.0], [0.0, np.nan, 5.0]])
    rgb = colorize_depth(depth, vmin=1.0, vmax=5.0)
    lut = _lut('Spectral')
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[0, 0], lut[0])     # near end
    np.testing.assert_array_equal(rgb[1, 2], lut[255])   # far end
    np.testing.assert_array_equal(rgb[0, 1], lut[64])    # (2-1)/4 * 255
    np.testing.assert_array_equal(rgb[1, :2], 0)         # 0 and NaN black
    # Percentile range: outliers saturate instead of compressing the rest.
    d = np.linspace(1, 2, 100).reshape(10, 10)
    d[0, 0] = 100.0
    auto = colorize_depth(torch.from_numpy(d)[None], cmap='turbo')
    np.testing.assert_array_equal(auto[0, 0], _lut('turbo')[255])
    assert len({tuple(c) for c in auto.reshape(-1, 3)}) > 50
    # An explicit mask wins over the > 0 rule (signed maps).
    signed = colorize_depth(np.array([[-1.0, 1.0]]), mask=np.ones((1, 2)),
                            vmin=-1, vmax=1)
    np.testing.assert_array_equal(signed[0, 0], lut[0])
    assert (colorize_depth(np.zeros((2, 2))) == 0).all()
    with pytest.raises(ValueError, match='unknown colour map'):
        colorize_depth(d, cmap='nope')


def test_colorize_normal_and_labels():
    n = np.zeros((3, 1, 3))
    n[2, 0, 0] = 1.0       # facing the camera
    n[0, 0, 1] = -1.0      # pointing left
    rgb = colorize_normal(torch.from_numpy(n))
    np.testing.assert_array_equal(rgb[0, 0], [128, 128, 255])
    np.testing.assert_array_equal(rgb[0, 1], [0, 128, 128])
    np.testing.assert_array_equal(rgb[0, 2], [0, 0, 0])  # invalid
    np.testing.assert_array_equal(
        colorize_normal(n.transpose(1, 2, 0), channel_axis=-1), rgb)
    lab = np.array([[0, 1, 255]])
    col = colorize_labels(lab)
    pal = label_palette()
    np.testing.assert_array_equal(col[0, :2], pal[:2])
    np.testing.assert_array_equal(col[0, 2], 0)
    assert not (pal == 0).all(1).any()
    np.testing.assert_array_equal(colorize_labels(lab), col)  # fixed


def test_make_panel_and_png(tmp_path):
    a = np.full((10, 20, 3), 200, np.uint8)
    b = np.zeros((5, 5), np.uint8)
    out = osp.join(tmp_path, 'sub', 'p.png')
    panel = make_panel([a, b], ['a', 'b'], out_file=out, gap=2,
                       title_height=12, min_height=0)
    assert panel.shape == (22, 20 + 2 + 10, 3)
    assert (panel[12:, :20] == 200).all() and (panel[12:, 22:] == 0).all()
    back = cv2.imread(out)[..., ::-1]
    np.testing.assert_array_equal(back, panel)
    # tiny outputs are enlarged (nearest) to a readable height by default
    big = make_panel([a, b], ['a', 'b'], gap=2, title_height=12)
    assert big.shape == (12 + 160, 320 + 2 + 160, 3)
    with pytest.raises(ValueError, match='titles'):
        make_panel([a], ['x', 'y'])
    with pytest.raises(ValueError, match='uint8'):
        make_panel([a.astype(np.float32)])


def test_dense_sample_columns_fields_and_order():
    from unidense.structures import DenseDataSample
    from unidense.visualization import dense_sample_columns
    s = DenseDataSample()
    s.gt_depth = torch.tensor([[[1.0, 0.0]]])
    s.gt_depth_valid = torch.tensor([[[True, False]]])
    s.gt_depth_norm = torch.tensor([[[-1.0, 1.0]]])
    s.pred_depth = torch.tensor([[[0.2, 0.4]]])
    s.gt_sem_seg = torch.tensor([[[0, 255]]])
    s.pred_saliency = torch.tensor([[[0.0, 1.0]]])
    images, titles = dense_sample_columns(s.to_dict(), np.zeros((1, 2, 3)))
    assert titles == ['RGB', 'gt depth', 'pred depth', 'gt depth_norm',
                      'gt sem_seg', 'pred saliency']
    lut = _lut('Spectral')
    np.testing.assert_array_equal(images[1][0, 1], 0)  # invalid gt: black
    np.testing.assert_array_equal(images[3][0], [lut[0], lut[255]])
    np.testing.assert_array_equal(images[5][0], [[0, 0, 0],
                                                 [255, 255, 255]])
    _, titles = dense_sample_columns(s, None, draw_gt=False)
    assert titles == ['pred depth', 'pred saliency']
