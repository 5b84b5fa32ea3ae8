"""TaskPrompterDecoder: prompts, spatial-channel decoding, losses."""
import pytest
import torch

from unidense.diffusion import meta_device_build
from unidense.registry import MODELS
from tests.test_models.test_heads.head_utils import (
    assert_grads_reach_all, assert_unit_normals, make_samples, numel)

OUTPUTS = dict(semseg=5, depth=1, normal=3)
TINY = dict(type='TaskPrompterDecoder', num_outputs=OUTPUTS, embed_dim=16,
            depth=4, num_heads=4, token_grid=(4, 8), chan_windows=(2, 2),
            tap_blocks=(1, 2, 3), task_dim=8, fuse_dim=12, drop_path=0.0)


def _tokens(b=2, c=16, hw=(4, 8)):
    return [torch.randn(b, c, *hw, generator=torch.Generator().manual_seed(0))]


def test_full_size_counts():
    with meta_device_build():
        nyud = MODELS.build(dict(type='TaskPrompterDecoder'))
        pascal = MODELS.build(dict(
            type='TaskPrompterDecoder',
            num_outputs=dict(semseg=21, parsing=7, saliency=2, normal=3,
                             edge=1),
            token_grid=(32, 32), chan_windows=(1, 1), task_dim=300,
            fuse_dim=350, cross_task_reweight=True))
    # brief 5.2 totals minus the ViT patch embedding (787,456) and the
    # position embedding ((tokens + 1) x 1024), which the encoder keeps
    assert numel(nyud) == 513_505_709 - 787_456 - 1009 * 1024
    assert numel(pascal) == 401_104_864 - 787_456 - 1025 * 1024


def test_shapes_loss_gradients():
    torch.manual_seed(0)
    head = MODELS.build(TINY)
    samples = make_samples(size=(64, 128))
    out = head(_tokens())
    for task, k in OUTPUTS.items():
        assert out[task].shape == (2, k, 16, 32)  # stride 4
    assert out['prompts'].shape == (2, 3, 16)
    losses = head.loss(_tokens(), samples)
    assert set(losses) == {'loss_semseg', 'loss_depth', 'loss_normal'}
    sum(losses.values()).backward()
    # the last block's prompt update is not decoded (as the reference)
    last = head.blocks[-1].attn.token_trans1
    last.weight.grad = torch.zeros_like(last.weight)
    last.bias.grad = torch.zeros_like(last.bias)
    assert_grads_reach_all(head)
    head.eval()
    pred = head.predict(_tokens(), samples)
    assert pred['sem_seg'].shape == (2, 1, 64, 128)
    assert_unit_normals(pred['normal'])


def test_prompts_steer_task_features():
    """Each task's map depends on its own prompt (spatial/channel logits)."""
    torch.manual_seed(0)
    head = MODELS.build(TINY).eval()
    out = head(_tokens())
    with torch.no_grad():
        # the depth prompt (a constant shift would vanish in LayerNorm)
        head.task_prompts[1] += torch.randn(16)
    out2 = head(_tokens())
    assert not torch.allclose(out['depth'], out2['depth'])


def test_cross_task_reweighting_and_released_channel_update():
    torch.manual_seed(0)
    for update in ('attended', 'prompt'):
        head = MODELS.build(dict(TINY, cross_task_reweight=True,
                                 channel_update=update))
        out = head(_tokens())
        sum(out[t].mean() for t in OUTPUTS).backward()
        assert all(p.grad is not None
                   for p in head.ctr_attn_conv.parameters())
        assert out['semseg'].shape == (2, 5, 16, 32)


def test_timm_vit_block_weights_load():
    timm = pytest.importorskip('timm')
    vit = timm.create_model('vit_tiny_patch16_224', pretrained=False,
                            num_classes=0, depth=4, embed_dim=16,
                            num_heads=4)
    head = MODELS.build(TINY)
    missing, unexpected = head.blocks.load_state_dict(
        vit.blocks.state_dict(), strict=False)
    assert not unexpected
    assert all('token_trans' in k for k in missing)
    head.norm.load_state_dict(vit.norm.state_dict())


def test_token_grid_is_checked():
    head = MODELS.build(TINY)
    with pytest.raises(ValueError, match='tokens must be'):
        head(_tokens(hw=(4, 4)))


def test_output_bias_starts_a_task_at_a_given_value():
    torch.manual_seed(0)
    plain = MODELS.build(TINY)
    torch.manual_seed(0)
    biased = MODELS.build(dict(TINY, output_bias=dict(depth=3.76)))
    assert torch.all(biased.heads['depth'][-1].bias == 3.76)
    out_plain, out_biased = plain(_tokens()), biased(_tokens())
    # depth shifted by exactly the bias, the other tasks untouched
    assert torch.allclose(out_biased['depth'] - out_plain['depth'],
                          torch.full_like(out_plain['depth'], 3.76 - float(
                              plain.heads['depth'][-1].bias)), atol=1e-5)
    assert torch.equal(out_biased['normal'], out_plain['normal'])
    with pytest.raises(ValueError, match="output_bias names \\['height'\\]"):
        MODELS.build(dict(TINY, output_bias=dict(height=1.0)))
