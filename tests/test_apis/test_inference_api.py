"""unidense.apis: inputs of every kind, dense inference through the test
path, generation and panoramas, checkpoints through init_model."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from unidense.apis import (DenseMap, generate, inference_dense, init_model,
                           load_inputs, panorama)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MERGE_TINY = osp.join(REPO, 'configs/merge/pixart_depth_tiny.py')
JOINTNET_TINY = osp.join(REPO, 'configs/jointnet/sd21_rgbd_tiny.py')


# ------------------------------------------------------------------ inputs
def test_inputs_of_every_layout(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    rgba = np.zeros((5, 6, 4), np.uint8)
    rgba[..., 0] = 255
    deep = np.full((2, 3), 1000, np.uint16)          # 16-bit grayscale
    chw = torch.rand(3, 7, 8)
    items = load_inputs([gray, rgba, deep, chw, Image.fromarray(gray)])
    assert [i.rgb.shape for i in items] == [(3, 4, 3), (5, 6, 3), (2, 3, 3),
                                            (7, 8, 3), (3, 4, 3)]
    assert np.allclose(items[0].rgb[..., 1], gray / 255.0)
    assert np.allclose(items[1].rgb[0, 0], [1, 0, 0])   # alpha dropped
    assert np.allclose(items[2].rgb, 1000 / 65535.0)    # precision kept
    assert np.allclose(items[3].rgb, chw.permute(1, 2, 0).numpy())
    assert all(i.rgb.dtype == np.float32 for i in items)
    # a folder: image files sorted by name, 16-bit PNG read as 16 bits
    cv2.imwrite(str(tmp_path / 'b.png'), np.full((4, 4), 40000, np.uint16))
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / 'notes.txt').write_text('not an image')
    items = load_inputs(str(tmp_path))
    assert [osp.basename(i.name) for i in items] == ['a.png', 'b.png']
    assert np.allclose(items[1].rgb, 40000 / 65535.0)


@pytest.mark.parametrize('bad, match', [
    (np.full((4, 4, 3), 2.0, np.float32), r'input: float images must be'),
    (np.zeros((4, 4, 2), np.uint8), r'input: expected an image of shape'),
    (np.full((4, 4), np.nan, np.float32), 'NaN'),
    (np.full((4, 4), -3, np.int32), 'integer pixels'),
    ('/nonexistent/x.png', r'/nonexistent/x.png: no such image file'),
    ([], 'no input images'),
])
def test_bad_inputs_name_the_input(bad, match):
    with pytest.raises(ValueError, match=match):
        load_inputs(bad)


def test_corrupt_file_and_empty_folder_are_named(tmp_path):
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'\x89PNG not really')
    with pytest.raises(ValueError, match='broken.png: not a readable image'):
        load_inputs(str(bad))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match='empty: no image files'):
        load_inputs(str(empty))
    with pytest.raises(TypeError, match='unsupported input type'):
        load_inputs(3.5)


# --------------------------------------------------------------- inference
@pytest.fixture(scope='module')
def merge_tiny():
    return init_model(MERGE_TINY)


def test_dense_inference_at_input_size(merge_tiny):
    rng = np.random.default_rng(0)
    gray = (rng.random((30, 41)) * 255).astype(np.uint8)
    rgba = (rng.random((64, 48, 4)) * 255).astype(np.uint8)
    out = inference_dense(merge_tiny, [gray, rgba, rgba], task='depth',
                          ensemble_size=2, batch_size=2)
    assert [type(m) for m in out] == [DenseMap] * 3
    assert [m.data.shape for m in out] == [(30, 41), (64, 48), (64, 48)]
    assert all(m.kind == 'affine_invariant_depth' for m in out)
    assert all(np.isfinite(m.data).all() and m.data.min() >= 0
               and m.data.max() <= 1 for m in out)
    assert out[0].source == 'input[0]'
    # per-image seeds: one image alone gives what it gave in the batch
    # (and the call left the model's own settings as they were)
    alone = inference_dense(merge_tiny, rgba, task='depth', ensemble_size=2)
    assert merge_tiny.ensemble_size == 5
    assert not np.array_equal(out[1].data, out[2].data)   # seeds differ
    single = inference_dense(merge_tiny, [gray, rgba], task='depth',
                             ensemble_size=2, batch_size=1)
    # (float kernels differ slightly between batch sizes on CPU)
    np.testing.assert_allclose(single[1].data, out[1].data, atol=2e-3)
    assert alone[0].data.shape == (64, 48)
    # every map as a dict
    maps = inference_dense(merge_tiny, gray)
    assert list(maps[0]) == ['depth']


def test_dense_inference_errors(merge_tiny):
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="task must be one of"):
        inference_dense(merge_tiny, img, task='height')
    with pytest.raises(ValueError, match="does not predict 'normals'"):
        inference_dense(merge_tiny, img, task='normals')
    with pytest.raises(ValueError, match="has no option 'ensemble_size'"):
        from unidense.apis import model_options
        with model_options(torch.nn.Identity(), ensemble_size=2):
            pass


def test_generate_restores_mode_and_matches_model(merge_tiny):
    out = generate(merge_tiny, ['a room with red walls', 'a blue floor'],
                   num_inference_steps=2, seed=3)
    assert merge_tiny.mode == 'depth'
    assert [o['rgb'].shape for o in out] == [(64, 64, 3)] * 2
    assert out[0]['rgb'].dtype == np.uint8
    merge_tiny.set_mode('t2i')
    ref = merge_tiny.generate(['a room with red walls', 'a blue floor'],
                              num_inference_steps=2,
                              generator=torch.Generator().manual_seed(3))
    merge_tiny.set_mode('depth')
    ref = (ref[0].permute(1, 2, 0).clamp(0, 1) * 255).round().byte().numpy()
    np.testing.assert_array_equal(out[0]['rgb'], ref)
    with pytest.raises(ValueError, match='prompts must be'):
        generate(merge_tiny, [])
    with pytest.raises(TypeError, match='cannot draw panoramas'):
        panorama(merge_tiny, 'a room')


def test_init_model_loads_a_trainable_checkpoint(tmp_path, merge_tiny):
    from unidense.utils.checkpoint_io import save_checkpoint_atomic
    from unidense.utils.trainable_state import trainable_state_dict
    state = {k: v + 0.5 for k, v in
             trainable_state_dict(merge_tiny).items()}
    path = str(tmp_path / 'iter_1.pth')
    save_checkpoint_atomic(
        dict(state_dict=state, meta=dict(unidense=dict(trainable_only=True))),
        path)
    model = init_model(MERGE_TINY, path)
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())
    assert not model.training
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        init_model(MERGE_TINY, str(tmp_path / 'missing.pth'))
    with pytest.raises(FileNotFoundError, match='no such config'):
        init_model(str(tmp_path / 'nope.py'))


def test_jointnet_generate_and_panorama():
    model = init_model(JOINTNET_TINY)
    out = generate(model, 'a room with red walls', num_inference_steps=2,
                   guidance_scale=1.0)
    assert out[0]['rgb'].shape == (64, 64, 3)
    assert out[0]['depth'].shape == (64, 64)
    pano = panorama(model, 'a room', num_inference_steps=2,
                    guidance_scale=1.0)
    assert pano['rgb'].shape == (64, 256, 3)
    assert pano['depth'].shape == (64, 256)
    assert np.isfinite(pano['depth']).all()
    depth = inference_dense(model, out[0]['rgb'], task='depth',
                            num_inference_steps=2)
    assert depth[0].data.shape == (64, 64)
