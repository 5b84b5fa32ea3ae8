"""BaeNormalHead: shapes, uncertainty-guided sampling, UG AngMF loss."""
import torch

from unidense.diffusion import meta_device_build
from unidense.models.heads.bae_normal_head import (expected_angular_error,
                                                   uncertainty_guided_points)
from unidense.registry import MODELS
from tests.test_models.test_heads.head_utils import (
    assert_grads_reach_all, assert_unit_normals, feats_at, make_samples,
    numel)

STRIDES = (2, 4, 8, 16, 32)
TINY = dict(type='BaeNormalHead', in_channels=(4, 6, 8, 10, 16),
            up_channels=(16, 16, 8, 8), mlp_channels=8)


def _feats(size=(32, 48)):
    return feats_at(STRIDES, TINY['in_channels'], size)


def test_full_size_count_is_baes_decoder():
    with meta_device_build():
        head = MODELS.build(dict(type='BaeNormalHead'))
    assert numel(head) == 44_081_552


def test_train_forward_samples_and_loss():
    torch.manual_seed(0)
    head = MODELS.build(TINY).train()
    samples = make_samples()
    out = head.forward(_feats())
    assert out['pred_s8'].shape == (2, 4, 4, 6)
    assert out['pred_s1'].shape == (2, 4, 32, 48)
    assert out['normal'].shape == (2, 3, 32, 48)
    # N = floor(0.4 * H * W) points per refinement level
    assert out['points_s4'].shape == (2, 4, int(0.4 * 8 * 12))
    assert out['points_s1'].shape == (2, 4, int(0.4 * 32 * 48))
    assert out['coords_s2'].shape == (2, 1, int(0.4 * 16 * 24), 2)
    assert out['coords_s1'].abs().max() <= 1
    losses = head.loss(_feats(), samples)
    assert set(losses) == {'loss_angmf'}
    losses['loss_angmf'].backward()
    assert torch.isfinite(losses['loss_angmf'])
    assert_grads_reach_all(head)


def test_refined_pixels_are_written_back():
    torch.manual_seed(0)
    head = MODELS.build(TINY).train()
    out = head.forward(_feats())
    coords = out['coords_s1']
    w, h = 48, 32
    cols = ((coords[..., 0] + 1) / 2 * (w - 1)).round().long()[:, 0]
    rows = ((coords[..., 1] + 1) / 2 * (h - 1)).round().long()[:, 0]
    b = torch.arange(2)[:, None]
    written = out['pred_s1'][b, :, rows, cols].permute(0, 2, 1)
    assert torch.allclose(written, out['points_s1'])
    # refined points are unit normals; elsewhere the upsampled coarse map
    # stays as it is (Bae), kappa > 0.01 everywhere
    assert torch.allclose(out['points_s1'][:, :3].norm(dim=1),
                          torch.ones(2, out['points_s1'].shape[-1]),
                          atol=1e-4)
    assert out['kappa'].min() > 0.01


def test_sampling_prefers_low_kappa_and_skips_invalid():
    pred = torch.zeros(1, 4, 4, 5)
    pred[:, 3] = torch.arange(20.0).view(4, 5) + 1  # kappa grows row-major
    valid = torch.ones(1, 1, 4, 5, dtype=torch.bool)
    valid[0, 0, 0, :2] = False  # the two lowest-kappa pixels are invalid
    idx, coords = uncertainty_guided_points(pred, valid, sampling_ratio=0.5,
                                            importance_ratio=0.6)
    n = 10
    assert idx.shape == (1, n) and coords.shape == (1, 1, n, 2)
    # importance part: the 6 lowest-kappa *valid* pixels, in order
    assert idx[0, :6].tolist() == [2, 3, 4, 5, 6, 7]
    # coverage part: distinct pixels from the rest
    assert len(set(idx[0].tolist())) == n
    assert not set(idx[0, 6:].tolist()) & set(range(2, 8))
    # align_corners=True coordinates of pixel 7 (row 1, col 2)
    assert torch.allclose(coords[0, 0, 5], torch.tensor([0.0, -1 / 3]))


def test_eval_refines_every_pixel_and_predict_is_unit():
    torch.manual_seed(0)
    head = MODELS.build(TINY).train()
    samples = make_samples(size=(64, 96))
    feats = _feats()
    pred = head.predict(feats, samples)  # test mode even while training
    assert pred['normal'].shape == (2, 3, 64, 96)
    assert pred['kappa'].shape == (2, 1, 64, 96)
    assert_unit_normals(pred['normal'])
    out = head.eval().forward(feats)
    assert 'points_s4' not in out
    # eval-mode loss compares all four full maps
    loss = head.loss_by_feat(out, make_samples())['loss_angmf']
    assert torch.isfinite(loss)


def test_expected_angular_error_decreases_with_kappa():
    e = expected_angular_error(torch.tensor([0.1, 1.0, 10.0, 100.0]))
    assert (e[1:] < e[:-1]).all() and e[-1] < 0.03


def test_gt_mask_steers_the_importance_samples():
    torch.manual_seed(0)
    head = MODELS.build(TINY).train()
    valid = torch.zeros(2, 1, 32, 48, dtype=torch.bool)
    valid[:, :, 16:] = True  # only the bottom half has ground truth
    out = head.forward(_feats(), gt_valid=valid)
    for stride, (h, w) in ((4, (8, 12)), (2, (16, 24)), (1, (32, 48))):
        coords = out[f'coords_s{stride}'][:, 0]
        n_imp = int(0.7 * coords.shape[1])
        rows = ((coords[:, :n_imp, 1] + 1) / 2 * (h - 1)).round()
        assert (rows >= h // 2).all()  # importance part: valid pixels only
