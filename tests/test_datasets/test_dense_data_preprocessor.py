"""DenseDataPreprocessor: normalisation, batch padding bookkeeping."""
import pytest
import torch
from mmengine.dataset import pseudo_collate

from unidense.datasets import SyntheticScenes
from unidense.registry import MODELS
from unidense.structures import restore_to_original, stack_pixel_field


def _pipeline(pad=8):
    return [dict(type='LoadImage'), dict(type='LoadDepth'),
            dict(type='NormalizeDepth'),
            dict(type='PadToMultiple', size_divisor=pad),
            dict(type='PackDenseInputs')]


def test_range_stack_and_padding_records():
    pre = MODELS.build(dict(type='DenseDataPreprocessor'))
    a = SyntheticScenes(num_samples=1, img_size=(16, 24),
                        pipeline=_pipeline())[0]
    b = SyntheticScenes(num_samples=1, img_size=(20, 12),
                        pipeline=_pipeline())[0]
    out = pre(pseudo_collate([a, b]), training=True)
    x = out['inputs']
    assert x.shape == (2, 3, 24, 24) and x.dtype == torch.float32
    assert -1 <= x.min() and x.max() <= 1
    expect = a['inputs'].float() / 127.5 - 1
    torch.testing.assert_close(x[0, :, :16, :24], expect)
    sa, sb = out['data_samples']
    assert sa.metainfo['padding'] == (0, 8, 0, 0)
    # 20x12 -> pipeline pad to 24x16 -> batch pad to 24x24
    assert sb.metainfo['padding'] == (0, 4, 0, 12)
    assert sb.metainfo['pad_shape'] == (24, 24)
    norm = stack_pixel_field(out['data_samples'], 'gt_depth_norm')
    valid = stack_pixel_field(out['data_samples'], 'gt_depth_valid')
    assert norm.shape == (2, 1, 24, 24) and valid.dtype == torch.bool
    assert valid[1, 0, :20, :12].all()
    assert not valid[1, 0, :, 12:].any() and not valid[1, 0, 20:].any()
    # restore_to_original undoes both paddings
    pred = torch.arange(24 * 24, dtype=torch.float32).reshape(1, 24, 24)
    back = restore_to_original(pred, sb.metainfo)
    assert back.shape == (1, 20, 12)
    torch.testing.assert_close(back, pred[:, :20, :12])


def test_size_divisor_custom_mean_and_errors():
    pre = MODELS.build(dict(type='DenseDataPreprocessor', size_divisor=16,
                            mean=[0, 0, 0], std=[255, 255, 255]))
    img = torch.full((3, 5, 7), 255, dtype=torch.uint8)
    out = pre(dict(inputs=[img], data_samples=None))
    assert out['inputs'].shape == (1, 3, 16, 16)
    assert out['inputs'][0, :, :5, :7].eq(1).all()
    assert out['inputs'][0, :, 5:].eq(0).all()
    with pytest.raises(ValueError, match=r'inputs\[0\]'):
        pre(dict(inputs=[torch.zeros(4, 5, 5, dtype=torch.uint8)]))
    with pytest.raises(ValueError, match='std'):
        MODELS.build(dict(type='DenseDataPreprocessor', std=0))


def test_builds_inside_meta_device_build():
    # count_params --device meta builds the whole estimator incl. this
    from unidense.diffusion import meta_device_build
    from unidense.registry import MODELS
    with meta_device_build():
        pre = MODELS.build(dict(type='DenseDataPreprocessor'))
    assert pre.std.device.type == 'cpu'
    with pytest.raises(ValueError, match='non-zero'):
        with meta_device_build():
            MODELS.build(dict(type='DenseDataPreprocessor', std=0))
