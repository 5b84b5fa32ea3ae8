"""Blip2Captioner on a tiny random BLIP-2 (no download)."""
import pytest
import torch

from unidense.registry import MODELS

TINY_BLIP2 = dict(
    vision_config=dict(hidden_size=16, intermediate_size=32,
                       num_hidden_layers=1, num_attention_heads=2,
                       image_size=32, patch_size=8),
    qformer_config=dict(hidden_size=16, intermediate_size=32,
                        num_hidden_layers=1, num_attention_heads=2,
                        encoder_hidden_size=16, vocab_size=259),
    text_config=dict(model_type='opt', hidden_size=16, ffn_dim=32,
                     num_hidden_layers=1, num_attention_heads=2,
                     vocab_size=259, word_embed_proj_dim=16,
                     bos_token_id=257, eos_token_id=258, pad_token_id=0,
                     max_position_embeddings=64),
    num_query_tokens=4, image_token_index=1)


def _captioner():
    torch.manual_seed(0)
    return MODELS.build(dict(type='Blip2Captioner', config=TINY_BLIP2,
                             tokenizer=dict(type='ByteTokenizer'),
                             max_new_tokens=6))


def test_captions_every_image_deterministically():
    cap = _captioner()
    images = torch.rand(3, 3, 40, 56)
    a, b = cap(images), cap(images)
    assert len(a) == 3 and all(isinstance(t, str) for t in a)
    assert a == b
    # the image prefix is not part of the caption
    assert all('\x00' not in t for t in a)


def test_bad_input_and_config_errors():
    with pytest.raises(ValueError, match='pretrained'):
        MODELS.build(dict(type='Blip2Captioner'))
    with pytest.raises(ValueError, match='tokenizer'):
        MODELS.build(dict(type='Blip2Captioner', config=TINY_BLIP2))
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        _captioner()(torch.rand(3, 32, 32))


def test_create_synthetic_captions_with_a_registered_captioner(tmp_path):
    import os.path as osp

    from tools.create_synthetic import main
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    base = osp.join(repo, 'configs', 'diff2in1',
                    'bae_nyu_normal_selfimprove_tiny.py')
    config = tmp_path / 'with_captioner.py'
    config.write_text(
        f'_base_ = [{base!r}]\n'
        f'synthetic_data = dict(num_inference_steps=2, captions=dict(\n'
        f'    _delete_=True, type="captioner", model=dict(\n'
        f'        type="Blip2Captioner", config={TINY_BLIP2!r},\n'
        f'        tokenizer=dict(type="ByteTokenizer"), max_new_tokens=4)))\n')
    out = tmp_path / 'out'
    assert main([str(config), '--out-dir', str(out), '--limit', '2']) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        'r000000.png', 'r000000.txt', 'r000001.png', 'r000001.txt']
