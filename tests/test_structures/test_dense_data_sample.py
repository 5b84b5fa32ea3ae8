"""DenseDataSample fields, stack_pixel_field and restore_to_original."""
import numpy as np
import pytest
import torch

from unidense.structures import (DenseDataSample, restore_to_original,
                                 stack_pixel_field)


def test_fields_wrap_and_check_channels():
    s = DenseDataSample()
    s.gt_depth = torch.ones(4, 5)
    assert s.gt_depth.data.shape == (1, 4, 5)
    s.gt_normal = np.zeros((3, 4, 5), np.float32)
    assert isinstance(s.gt_normal.data, torch.Tensor)
    with pytest.raises(ValueError, match='gt_normal'):
        s.gt_normal = torch.zeros(2, 4, 5)
    with pytest.raises(ValueError, match='gt_depth'):
        s.gt_depth = torch.zeros(1, 1, 4, 5)
    s.caption = 'a room'
    s.set_metainfo(dict(intrinsics=[[1, 0, 0], [0, 1, 0], [0, 0, 1]],
                        protocol='nyu', ori_shape=(4, 5)))
    assert s.caption == 'a room' and s.metainfo['protocol'] == 'nyu'
    del s.caption
    assert s.caption is None
    moved = s.to('cpu')
    assert moved.gt_depth.data.shape == (1, 4, 5)


def test_stack_pixel_field_errors_name_the_field():
    a, b = DenseDataSample(), DenseDataSample()
    a.gt_depth = torch.ones(2, 3)
    assert stack_pixel_field([a, b], 'gt_normal') is None
    with pytest.raises(ValueError, match="'gt_depth'.*1 of 2"):
        stack_pixel_field([a, b], 'gt_depth')
    b.gt_depth = torch.ones(3, 3)
    with pytest.raises(ValueError, match='different shapes'):
        stack_pixel_field([a, b], 'gt_depth')
    b.gt_depth = torch.zeros(2, 3)
    assert stack_pixel_field([a, b], 'gt_depth').shape == (2, 1, 2, 3)


def test_restore_normals_unflip_and_labels_nearest():
    meta = dict(ori_shape=(4, 6), pad_shape=(8, 8), padding=(0, 4, 0, 2),
                flip=True, flip_direction='horizontal')
    n = torch.zeros(3, 8, 8)
    n[0, :4, :6] = 1.0        # facing right in the flipped image
    back = restore_to_original(n, meta, is_normal=True)
    assert back.shape == (3, 4, 6)
    assert torch.allclose(back[0], -torch.ones(4, 6))
    lab = torch.zeros(1, 4, 4, dtype=torch.long)
    lab[0, :, 2:] = 7
    out = restore_to_original(lab, dict(ori_shape=(8, 8)), mode='nearest')
    assert out.dtype == torch.long and set(out.unique().tolist()) == {0, 7}
    with pytest.raises(ValueError, match='flip_direction'):
        restore_to_original(lab.float(), dict(flip=True,
                                              flip_direction='vertical'))
    with pytest.raises(ValueError):
        restore_to_original(torch.zeros(4, 4), {})
