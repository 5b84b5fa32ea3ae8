"""InvPTDecoder: multi-task shapes, message passing, losses, predict."""
import pytest
import torch

from unidense.diffusion import meta_device_build
from unidense.registry import MODELS
from tests.test_models.test_heads.head_utils import (
    assert_grads_reach_all, assert_unit_normals, feats_at, make_samples,
    numel)

OUTPUTS = dict(semseg=5, depth=1, normal=3, edge=1)
TINY = dict(type='InvPTDecoder', num_outputs=OUTPUTS, in_channels=(8, 8, 8),
            in_strides=(16, 16, 16), embed_dim=24, pred_constant=8,
            drop_path=0.0)


def test_full_size_counts_without_unused_reference_params():
    with meta_device_build():
        nyud = MODELS.build(dict(type='InvPTDecoder'))
        pascal = MODELS.build(dict(
            type='InvPTDecoder', num_outputs=dict(semseg=21, parsing=7,
                                                  saliency=2, normal=3,
                                                  edge=1)))
    # brief 5.1: decoder 97,933,803 + heads 25,965, minus 6,639,562 unused
    assert numel(nyud) == 97_933_803 + 25_965 - 6_639_562
    # PASCAL: 422,929,810 - ViT-L at 512x512 (304,149,504) - 6,972,202 unused
    assert numel(pascal) == 422_929_810 - 304_149_504 - 6_972_202


def test_shapes_losses_and_gradients():
    torch.manual_seed(0)
    head = MODELS.build(TINY)
    samples = make_samples(size=(64, 128))
    feats = feats_at((16, 16, 16), (8, 8, 8), size=(64, 128))
    out = head(feats)
    for task, k in OUTPUTS.items():
        assert out[task].shape == (2, k, 16, 32)  # stride 4
        assert out[f'inter_{task}'].shape == (2, k, 2, 4)  # stride 32
    losses = head.loss(feats, samples)
    assert set(losses) == {f'loss_{p}{t}' for t in OUTPUTS
                           for p in ('', 'inter_')}
    sum(losses.values()).backward()
    assert_grads_reach_all(head)


def test_default_loss_weights_follow_the_paper():
    head = MODELS.build(TINY)
    weights = {t: fn.loss_weight for t, fn in zip(head.tasks, head.losses)}
    assert weights == dict(semseg=1.0, depth=1.0, normal=10.0, edge=50.0)


def test_attention_messages_pass_between_stages():
    torch.manual_seed(0)
    head = MODELS.build(TINY).eval()
    feats = feats_at((16, 16, 16), (8, 8, 8), size=(64, 128))
    seen = []
    orig = head.stages[2].attn.forward

    def spy(maps, messages):
        seen.append(messages.get('attn') is not None)
        return orig(maps, messages)

    head.stages[2].attn.forward = spy
    base = head(feats)['semseg']
    assert seen == [True]
    # the stage-2 fusion conv reads the previous logits: changing its
    # "message" half changes the output
    with torch.no_grad():
        head.stages[2].attn.fuse_attn.weight[:, 2:] += 1.0
    assert not torch.allclose(head(feats)['semseg'], base)


def test_neck_layout_strides_8_16_32():
    torch.manual_seed(0)
    head = MODELS.build(dict(TINY, in_channels=(6, 7, 9),
                             in_strides=(8, 16, 32)))
    feats = feats_at((8, 16, 32), (6, 7, 9), size=(64, 128))
    assert head(feats)['depth'].shape == (2, 1, 16, 32)


def test_predict_post_processing():
    torch.manual_seed(0)
    head = MODELS.build(dict(TINY, num_outputs=dict(semseg=5, normal=3,
                                                    saliency=2, parsing=3,
                                                    edge=1, depth=1),
                             losses=None)).eval()
    samples = make_samples(size=(64, 128))
    feats = feats_at((16, 16, 16), (8, 8, 8), size=(64, 128))
    losses = head.loss(feats, samples)  # PASCAL-style tasks, default losses
    assert all(torch.isfinite(v) for v in losses.values())
    assert len(losses) == 12
    pred = head.predict(feats, samples)
    assert pred['sem_seg'].shape == (2, 1, 64, 128)
    assert pred['sem_seg'].dtype == torch.long
    assert pred['parsing'].max() < 3
    assert_unit_normals(pred['normal'])
    assert pred['saliency'].shape == (2, 1, 64, 128)
    assert 0 <= pred['saliency'].min() and pred['saliency'].max() <= 1
    assert pred['depth'].min() >= 0
    assert 0 <= pred['edge'].min() and pred['edge'].max() <= 1


def test_one_loss_per_task():
    with pytest.raises(ValueError, match='one loss per task'):
        MODELS.build(dict(TINY, losses=[dict(type='L1Loss')]))
