"""TextEncoder: SD / PixArt / FLUX set-ups as configs of one class, cache."""
import pytest
import torch

from unidense.registry import MODELS

from tiny_diffusion_parts import TINY_CLIP, clip_entry, t5_entry


def _count_calls(module):
    calls = []
    module.register_forward_hook(lambda *a: calls.append(1))
    return calls


def test_sd_style_and_empty_prompt_computed_once():
    torch.manual_seed(0)
    te = MODELS.build(dict(type='TextEncoder', encoders=[clip_entry()]))
    calls = _count_calls(te.encoders[0])
    a = te.encode_empty(2)
    assert a['embeds'].shape == (2, 77, 32) and a['pooled'] is None
    assert a['mask'].dtype == torch.bool and a['mask'][0].sum() == 2
    for _ in range(3):
        b = te.encode(['', 'a cat', ''])
    assert len(calls) == 2  # '' once, 'a cat' once
    assert torch.equal(b['embeds'][0], a['embeds'][1])
    assert not torch.equal(b['embeds'][0], b['embeds'][1])
    assert not any(p.requires_grad for p in te.parameters())
    # the cached result equals a fresh computation
    te.clear_cache()
    c = te.encode(['a cat'])
    torch.testing.assert_close(c['embeds'][0], b['embeds'][1])
    assert len(calls) == 3


def test_cache_is_lru_and_pins_empty_prompt():
    te = MODELS.build(dict(type='TextEncoder', encoders=[clip_entry()],
                           max_cache=2))
    calls = _count_calls(te.encoders[0])
    te.encode(['', 'a', 'b', 'c'])  # one batched call
    assert len(calls) == 1
    te.encode(['', 'b', 'c'])  # '' pinned, b/c kept
    assert len(calls) == 1
    te.encode(['a'])  # evicted
    assert len(calls) == 2


def test_trainable_encoder_is_not_cached():
    te = MODELS.build(dict(type='TextEncoder', encoders=[clip_entry()],
                           frozen=False))
    calls = _count_calls(te.encoders[0])
    out = te.encode(['x'])
    te.encode(['x'])
    assert len(calls) == 2 and out['embeds'].requires_grad


def test_pixart_style_t5_mask_is_used():
    te = MODELS.build(dict(type='TextEncoder', encoders=[t5_entry(16)]))
    assert te.specs[0]['pass_mask']
    out = te.encode(['a dog', 'a dog'])
    assert out['embeds'].shape == (2, 16, 32)
    assert out['mask'][0].tolist() == [True] * 6 + [False] * 10
    # with the mask passed, real tokens do not depend on the padding length
    te_long = MODELS.build(dict(type='TextEncoder', encoders=[t5_entry(24)]))
    te_long.encoders[0].load_state_dict(te.encoders[0].state_dict())
    longer = te_long.encode(['a dog'])
    torch.testing.assert_close(longer['embeds'][0, :6], out['embeds'][0, :6],
                               atol=1e-5, rtol=1e-5)


def test_flux_style_pooled_clip_plus_t5_sequence():
    te = MODELS.build(dict(type='TextEncoder',
                           encoders=[clip_entry('pooled'), t5_entry(12)]))
    calls = [_count_calls(e) for e in te.encoders]
    out = te.encode(['', 'a red car'])
    assert out['pooled'].shape == (2, 32)
    assert out['embeds'].shape == (2, 12, 32) and out['mask'].shape == (2, 12)
    te.encode([''])
    assert [len(c) for c in calls] == [1, 1]
    assert te.embed_dim == 32


def test_projection_model_pooled_and_hidden_layer():
    proj = dict(TINY_CLIP, type='CLIPTextModelWithProjection')
    proj['config'] = dict(TINY_CLIP['config'], projection_dim=8)
    te = MODELS.build(dict(type='TextEncoder', encoders=[dict(
        clip_entry('pooled'), encoder=proj)]))
    assert te.encode(['a'])['pooled'].shape == (1, 8)
    te2 = MODELS.build(dict(type='TextEncoder', encoders=[dict(
        clip_entry(), hidden_layer=-2)]))
    out = te2.encode(['a'])['embeds']
    assert out.shape == (1, 77, 32)


def test_bad_specs():
    with pytest.raises(ValueError, match='role'):
        MODELS.build(dict(type='TextEncoder',
                          encoders=[dict(clip_entry(), role='both')]))
    with pytest.raises(ValueError, match='two encoders'):
        MODELS.build(dict(type='TextEncoder',
                          encoders=[clip_entry(), clip_entry()]))
    with pytest.raises(KeyError, match='unknown keys'):
        MODELS.build(dict(type='TextEncoder',
                          encoders=[dict(clip_entry(), maxlen=3)]))
    te = MODELS.build(dict(type='TextEncoder', encoders=[clip_entry()]))
    with pytest.raises(TypeError, match='strings'):
        te.encode([None])
