"""JointNet estimator on the tiny family (random UNet): training stages,
inpainting model, several modalities, online labels, depth estimation."""
import pytest
import torch

from jointnet_tiny_parts import build_jointnet, synthetic_batch
from unidense.structures import DenseDataSample


@pytest.fixture(scope='module')
def batch():
    return synthetic_batch(n=2, size=32, normals=True)


def _grads(model):
    return {n for n, p in model.named_parameters() if p.grad is not None}


def test_stage1_loss_trains_only_the_joint_branch_and_links(batch):
    model = build_jointnet()
    model.train()
    losses = model.loss(*batch)
    assert set(losses) == {'loss_rgb', 'loss_depth'}
    sum(losses.values()).backward()
    grads = _grads(model)
    assert any(n.startswith('fusion.branches.depth.') for n in grads)
    assert any(n.startswith('fusion.links.depth_to_rgb.') for n in grads)
    assert any(n.startswith('fusion.links.rgb_to_depth.') for n in grads)
    assert not any(n.startswith(('backbone.', 'codec.', 'text_encoder.'))
                   for n in grads)
    assert not model.backbone.training  # frozen stays in eval


def test_stage2_trains_the_rgb_unet_too(batch):
    model = build_jointnet(train_rgb_branch=True, caption_dropout=0.5)
    model.train()
    sum(model.loss(*batch).values()).backward()
    assert any(n.startswith('backbone.') for n in _grads(model))
    assert model.backbone.training


def test_loss_is_the_sum_of_branch_losses_at_one_timestep(batch,
                                                          monkeypatch):
    """Same t for both branches, independent noise, v target (the family's
    parameterisation), text dropout and noise offset as configured."""
    model = build_jointnet(caption_dropout=1.0, noise_offset=0.0)
    seen = {}
    real = model.fusion.forward

    def spy(latent, t, text, **kw):
        seen.update(t=t, text=text)
        return real(latent, t, text, **kw)

    monkeypatch.setattr(model.fusion, 'forward', spy)
    model.loss(*batch)
    assert seen['t'].shape == (2, )
    assert model.prediction_type == 'v_prediction'
    # caption dropout 1: every prompt is ''
    empty = model.encode_text(['', ''])
    assert torch.equal(seen['text'], empty)


def test_inpaint_model_conditions_on_masks(batch):
    model = build_jointnet(fusion=dict(masked_input=True),
                           train_rgb_branch=True)
    masks = model._train_masks(64, 4, 4, [torch.Generator().manual_seed(0)]
                               * 64, 'cpu')
    assert masks.shape == (64, 2, 4, 4)
    assert ((masks == 0) | (masks == 1)).all()
    kept = masks.flatten(2).amax(-1) == 0          # all-keep branches
    assert kept.any() and not kept.all(dim=1).any()  # never both kept
    losses = model.loss(*batch)
    sum(losses.values()).backward()
    assert model.fusion.mask_convs['rgb'].weight.grad is not None
    assert model.fusion.mask_convs['depth'].weight.grad is not None


def test_depth_and_normals_at_once(batch):
    model = build_jointnet(fusion=dict(modalities=('depth', 'normal')))
    losses = model.loss(*batch)
    assert set(losses) == {'loss_rgb', 'loss_depth', 'loss_normal'}
    model.eval()
    out = model.predict(batch[0][:1], [DenseDataSample(metainfo=dict(
        ori_shape=(32, 32), img_shape=(32, 32), sample_idx=0))])
    assert out[0].pred_depth.shape == (32, 32)
    normal = out[0].pred_normal.data
    assert normal.shape == (3, 32, 32)
    assert torch.allclose(normal.norm(dim=0), torch.ones(32, 32), atol=1e-3)


def test_online_labeller_fills_missing_depth(batch):
    """Caption-only samples: depth from a registered estimator (here a
    tiny JointNet itself, ``mode='tensor'``), normalised to [-1, 1]."""
    inputs, samples = batch
    bare = [DenseDataSample(metainfo=dict(caption=s.caption))
            for s in samples]
    model = build_jointnet(depth_steps=1)
    with pytest.raises(KeyError, match='labeller'):
        model.loss(inputs, bare)
    from jointnet_tiny_parts import tiny_jointnet_cfg
    labeller = tiny_jointnet_cfg(depth_steps=1)
    model = build_jointnet(labellers=dict(depth=labeller))
    depth = model._label('depth', inputs)
    assert depth.shape == (2, 1, 32, 32)
    assert depth.min() >= -1 and depth.max() <= 1
    assert not any(k.startswith('_labellers') for k in model.state_dict())
    assert set(model.loss(inputs, bare)) == {'loss_rgb', 'loss_depth'}


def test_predict_is_seeded_per_sample(batch):
    inputs, _ = batch
    # One draw per image: the seeding is what is tested. With an ensemble,
    # the BFGS alignment (2 iterations, as diffusers' Marigold) turns the
    # ~1e-6 float noise between batch sizes into differences of ~0.04.
    model = build_jointnet(depth_steps=2, ensemble_size=1)
    model.eval()

    def samples(idx):
        return [DenseDataSample(metainfo=dict(
            ori_shape=(32, 32), img_shape=(32, 32), sample_idx=i))
            for i in idx]

    both = model.predict(inputs, samples([0, 1]))
    second = model.predict(inputs[1:], samples([1]))
    assert torch.allclose(both[1].pred_depth.data, second[0].pred_depth.data,
                          atol=1e-5)
    d = both[0].pred_depth.data
    assert d.shape == (1, 32, 32) and d.min() >= 0 and d.max() <= 1
