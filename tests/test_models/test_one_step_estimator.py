"""OneStepEstimator (issue 27 item 2): one-step depth at the trailing
timestep for MERGE and JointNet, its end-to-end task loss, and its
checkpoints."""
import os.path as osp

import pytest
import torch
from diffusers import DDIMScheduler
from mmengine.config import Config
from mmengine.registry import init_default_scope

from unidense.diffusion.schedulers import clean_latent_estimate
from unidense.models.estimators.one_step_estimator import \
    merge_one_step_latent
from unidense.models.losses import AffineInvariantDepthLoss
from unidense.registry import MODELS
from unidense.structures import DenseDataSample

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _model(config, **changes):
    init_default_scope('unidense')
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    cfg.model.update(dict(dict(init_checkpoint=None), **changes))
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


def _samples(n=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        s = DenseDataSample(metainfo=dict(img_shape=(size, size),
                                          ori_shape=(size, size),
                                          sample_idx=i))
        s.gt_depth_norm = torch.rand(1, size, size, generator=g) * 2 - 1
        out.append(s)
    return out


@pytest.mark.parametrize('kind', ['epsilon', 'v_prediction'])
def test_clean_estimate_is_ddim_pred_original_sample(kind):
    sched = DDIMScheduler(num_train_timesteps=1000, beta_schedule='linear',
                          prediction_type=kind,
                          timestep_spacing='trailing', clip_sample=False)
    sched.set_timesteps(1)
    t = int(sched.timesteps[0])
    assert t == 999  # the trailing timestep (the Garcia et al. fix)
    g = torch.Generator().manual_seed(0)
    sample = torch.randn(2, 4, 8, 8, generator=g)
    output = torch.randn(2, 4, 8, 8, generator=g)
    ref = sched.step(output, t, sample).pred_original_sample
    ours = clean_latent_estimate(output, sample, kind,
                                 sched.alphas_cumprod[t])
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    flow = clean_latent_estimate(output, sample, 'flow')
    torch.testing.assert_close(flow, sample - output)
    with pytest.raises(ValueError, match='prediction_type'):
        clean_latent_estimate(output, sample, 'other', 0.5)


def test_merge_one_step_equals_a_trailing_ddim_step_from_zeros():
    model = _model('merge/pixart_depth_onestep_tiny.py').eval()
    est = model.estimator
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        z_rgb = est.codec.encode_rgb(images)
        ours = merge_one_step_latent(est, z_rgb)
        zeros = torch.zeros_like(z_rgb)
        out = est.denoiser(zeros, z_rgb, torch.full((2, ), 999),
                           est.encode_prompt(2))
        sched = DDIMScheduler.from_config(est.test_scheduler.config)
        sched.set_timesteps(1)
        ref = sched.step(out, 999, zeros).pred_original_sample
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    depth = model(images, None, mode='tensor')
    assert depth.shape == (2, 1, 64, 64)
    assert 0 <= depth.min() and depth.max() <= 1
    # deterministic: no noise is drawn
    torch.testing.assert_close(model(images, None, mode='tensor'), depth,
                               rtol=0, atol=0)


@pytest.mark.parametrize('config, trainable, frozen', [
    ('merge/pixart_depth_onestep_tiny.py', 'estimator.fusion',
     'estimator.backbone'),
    ('jointnet/sd21_rgbd_onestep_tiny.py', 'estimator.fusion.branches',
     'estimator.backbone'),
])
def test_task_loss_trains_only_the_estimators_trainable_parts(
        config, trainable, frozen):
    model = _model(config).train()
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    losses = model.loss(images, _samples())
    assert set(losses) == {'loss_affine_l1'}
    losses['loss_affine_l1'].backward()
    grads = {n for n, p in model.named_parameters() if p.grad is not None
             and p.grad.abs().sum() > 0}
    assert any(n.startswith(trainable) for n in grads)
    assert not any(n.startswith(frozen) or '.codec.' in n for n in grads)
    with pytest.raises(KeyError, match='gt_depth_norm'):
        model.loss(images, [DenseDataSample() for _ in range(2)])


def test_checkpoints_of_the_estimator_or_the_wrapper_load(tmp_path):
    from unidense.utils.checkpoint_io import save_checkpoint_atomic
    from unidense.utils.trainable_state import (load_trainable_checkpoint,
                                                trainable_state_dict)
    init_default_scope('unidense')  # a trained plain MERGE's checkpoint
    cfg = Config.fromfile(osp.join(REPO, 'configs/merge/pixart_depth_tiny.py'))
    torch.manual_seed(3)
    merge = MODELS.build(cfg.model)
    with torch.no_grad():
        for p in merge.fusion.parameters():
            p.add_(0.01)
    path = str(tmp_path / 'merge.pth')
    save_checkpoint_atomic(dict(state_dict=trainable_state_dict(merge),
                                meta=dict(unidense=dict(
                                    trainable_only=True))), path)
    ref = merge.fusion.state_dict()
    # init_checkpoint is read when training starts (init_weights)
    model = _model('merge/pixart_depth_onestep_tiny.py',
                   init_checkpoint=path)
    model.init_weights()
    for k, v in model.estimator.fusion.state_dict().items():
        assert torch.equal(v, ref[k]), k
    # tools/test.py with the estimator's own checkpoint: keys remapped
    fresh = _model('merge/pixart_depth_onestep_tiny.py')
    load_trainable_checkpoint(fresh, torch.load(path, weights_only=False),
                              path, strict=True)
    for k, v in fresh.estimator.fusion.state_dict().items():
        assert torch.equal(v, ref[k]), k
    # ... and with its own (fine-tuned) checkpoint
    own = trainable_state_dict(model)
    assert all(k.startswith('estimator.') for k in own)
    again = _model('merge/pixart_depth_onestep_tiny.py')
    load_trainable_checkpoint(again, dict(state_dict=own), 'own',
                              strict=True)
    for k, v in again.estimator.fusion.state_dict().items():
        assert torch.equal(v, ref[k]), k


def test_jointnet_per_branch_timesteps():
    model = _model('jointnet/sd21_rgbd_onestep_tiny.py').eval()
    fusion = model.estimator.fusion
    g = torch.Generator().manual_seed(0)
    latent = torch.randn(1, 8, 16, 16, generator=g)
    text = torch.randn(1, 48, fusion.branches.depth.unet.config
                       .cross_attention_dim, generator=g)
    t = torch.tensor([500])
    with torch.no_grad():
        shared = fusion(latent, t, text)
        per_branch = fusion(latent, dict(rgb=t, depth=t), text)
        mixed = fusion(latent, dict(rgb=torch.tensor([0]), depth=t), text)
    torch.testing.assert_close(per_branch, shared, rtol=0, atol=0)
    assert not torch.allclose(mixed[:, :4], shared[:, :4])


def test_affine_invariant_loss():
    loss = AffineInvariantDepthLoss()
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 1, 8, 8, generator=g)
    pred = 3 * target - 1  # an affine map of the target: no error
    assert loss(pred, target).item() == pytest.approx(0, abs=1e-6)
    noisy = pred + 0.1 * torch.randn(2, 1, 8, 8, generator=g)
    assert loss(noisy, target).item() > 0.01
    valid = torch.zeros(2, 1, 8, 8, dtype=torch.bool)
    valid[:, :, :4] = True
    broken = pred.clone()
    broken[:, :, 4:] = 100.0  # only invalid pixels are wrong
    assert loss(broken, target, valid).item() == pytest.approx(0, abs=1e-5)
    none = loss(pred.requires_grad_(), target, torch.zeros_like(valid))
    assert none.item() == 0 and none.requires_grad
    with pytest.raises(ValueError, match='same'):
        loss(pred[:, :, :4], target)
