"""GroupedConverters: layout, initialisation, forward, full-size counts."""
import pytest
import torch

from unidense.models.fusions.grouped_converters import (GroupedConverters,
                                                        first_blocks,
                                                        group_layout)
from unidense.registry import MODELS

from merge_tiny_parts import TINY_FLUX, TINY_PIXART


def _pixart(num_layers=8):
    import unidense.models  # noqa: F401
    torch.manual_seed(0)
    cfg = dict(TINY_PIXART, num_layers=num_layers)
    return MODELS.build(dict(type='PixArtDiT', transformer=dict(
        type='PixArtTransformer2DModel', from_pretrained=None, config=cfg)))


def _flux():
    import unidense.models  # noqa: F401
    torch.manual_seed(0)
    return MODELS.build(dict(type='FluxDiT', transformer=dict(
        type='FluxTransformer2DModel', from_pretrained=None,
        config=TINY_FLUX)))


def _attn_equal(conv, block):
    names = ['attn1.to_q', 'attn1.to_k', 'attn1.to_v', 'attn1.to_out.0']
    ok = torch.equal(conv.scale_shift_table, block.scale_shift_table)
    for n in names:
        a = conv.get_submodule(n)
        b = block.get_submodule(n)
        ok = ok and torch.equal(a.weight, b.weight) and torch.equal(
            a.bias, b.bias)
    return ok


def test_group_layout_contiguous():
    assert group_layout(28, 14) == [i // 2 for i in range(28)]
    sizes = lambda lay: [lay.count(g) for g in range(max(lay) + 1)]  # noqa
    assert sizes(group_layout(19, 5)) == [4, 4, 4, 4, 3]
    assert sizes(group_layout(38, 5)) == [8, 8, 8, 8, 6]
    assert first_blocks(group_layout(38, 5)) == [0, 8, 16, 24, 32]
    with pytest.raises(ValueError, match='empty'):
        group_layout(28, 12)


def test_pixart_pretrained_init_copies_first_block_of_every_group():
    bb = _pixart(8)
    fusion = GroupedConverters(bb, num_groups=4, init='pretrained')
    assert fusion.layout == [0, 0, 1, 1, 2, 2, 3, 3]
    for g, conv in enumerate(fusion.converters):
        assert _attn_equal(conv, bb.blocks[2 * g])
        assert not _attn_equal(conv, bb.blocks[2 * g + 1])
        # ratio-1 FFN vs the frozen ratio-4 one: never copied
        dim = bb.hidden_size
        assert conv.ff.net[0].proj.weight.shape == (dim, dim)
        assert not hasattr(conv, 'attn2') or conv.attn2 is None
    # 8-channel patch embed: frozen conv duplicated and halved, bias kept
    w = bb.transformer.pos_embed.proj.weight
    assert torch.equal(fusion.patch_embed.proj.weight,
                       torch.cat([w, w], dim=1) / 2)
    assert torch.equal(fusion.patch_embed.proj.bias,
                       bb.transformer.pos_embed.proj.bias)
    assert torch.equal(fusion.head.proj_out.weight,
                       bb.transformer.proj_out.weight)
    assert torch.equal(fusion.head.scale_shift_table,
                       bb.transformer.scale_shift_table)
    # trainable converters, frozen backbone, backbone not a sub-module
    assert all(p.requires_grad for p in fusion.parameters())
    assert not any(p.requires_grad for p in bb.parameters())
    assert not any(k.startswith('transformer') for k in fusion.state_dict())


def test_pixart_official_init_leaves_second_half_random():
    bb = _pixart(8)
    fusion = GroupedConverters(bb, num_groups=4, init='official')
    # the released list range(0, 4, 2) -> blocks 0, 2 into converters 0, 1
    assert _attn_equal(fusion.converters[0], bb.blocks[0])
    assert _attn_equal(fusion.converters[1], bb.blocks[2])
    assert not _attn_equal(fusion.converters[2], bb.blocks[4])
    assert not _attn_equal(fusion.converters[3], bb.blocks[6])
    rand = GroupedConverters(bb, num_groups=4, init='random')
    assert not any(_attn_equal(c, bb.blocks[2 * g])
                   for g, c in enumerate(rand.converters))
    with pytest.raises(ValueError, match='init'):
        GroupedConverters(bb, num_groups=4, init='half')


def test_pixart_forward_reuses_converter_before_every_block():
    bb = _pixart(4)
    fusion = GroupedConverters(bb, num_groups=2)
    calls = [0, 0]
    for g, conv in enumerate(fusion.converters):
        conv.register_forward_hook(
            lambda *a, g=g: calls.__setitem__(g, calls[g] + 1))
    x = torch.randn(2, 8, 8, 8)
    text = torch.randn(2, 5, TINY_PIXART['caption_channels'])
    out = fusion(x, torch.tensor([3, 700]), text, torch.ones(2, 5))
    assert out.shape == (2, 8, 8, 8)
    assert calls == [2, 2]
    out[:, :4].square().mean().backward()
    assert all(p.grad is not None for p in fusion.parameters())
    assert all(p.grad is None for p in bb.parameters())
    with pytest.raises(ValueError, match=r'\(B, 8, h, w\)'):
        fusion(torch.randn(2, 4, 8, 8), torch.tensor([1, 2]), text)


def test_flux_converters_layout_init_and_forward():
    bb = _flux()
    fusion = GroupedConverters(bb, num_groups=(2, 2), init='pretrained')
    assert fusion.dual_layout == [0, 0, 1]
    assert fusion.single_layout == [0, 0, 0, 1, 1]
    for conv, src in zip(fusion.single_converters, (0, 3)):
        for (n, p), q in zip(conv.named_parameters(),
                             bb.single_blocks[src].parameters()):
            assert torch.equal(p, q), n
    # 'pretrained' dual init copies the single-part converters
    for d, s in zip(fusion.dual_converters, fusion.single_converters):
        assert all(torch.equal(a, b)
                   for a, b in zip(d.parameters(), s.parameters()))
    old = bb.transformer.x_embedder
    assert fusion.x_embedder.in_features == 2 * old.in_features
    assert torch.equal(fusion.x_embedder.weight[:, :old.in_features],
                       old.weight)
    assert fusion.x_embedder.weight[:, old.in_features:].abs().sum() == 0
    assert torch.equal(fusion.head.proj_out.weight,
                       bb.transformer.proj_out.weight)
    official = GroupedConverters(bb, num_groups=(2, 2), init='official')
    assert official.single_in_dual_init == 'random'
    assert not torch.equal(official.dual_converters[0].proj_out.weight,
                           official.single_converters[0].proj_out.weight)

    latent = torch.randn(2, 8, 4, 4)  # [depth (4), rgb (4)]
    tokens = bb.pack_latents(latent)
    out = fusion(tokens, torch.tensor([0.3, 0.9]),
                 torch.randn(2, 6, TINY_FLUX['joint_attention_dim']),
                 torch.randn(2, TINY_FLUX['pooled_projection_dim']),
                 bb.latent_image_ids(4, 4), torch.zeros(6, 3),
                 guidance=torch.zeros(2))
    assert out.shape == (2, 4, 16)
    out.square().mean().backward()
    assert fusion.dual_converters[0].proj_out.weight.grad is not None
    assert fusion.x_embedder.weight.grad is not None


def test_full_size_trainable_counts_on_meta():
    """Brief sec. 2.2: exact counts; the paper rounds them to 110M / 1.4B."""
    from diffusers import FluxTransformer2DModel, PixArtTransformer2DModel
    import unidense.models  # noqa: F401
    with torch.device('meta'):
        pix = MODELS.build(dict(type='PixArtDiT', transformer=(
            PixArtTransformer2DModel(caption_channels=4096, sample_size=64,
                                     num_layers=28))))
        merge_b = GroupedConverters(pix, num_groups=14)
        flux = MODELS.build(dict(type='FluxDiT', transformer=(
            FluxTransformer2DModel(guidance_embeds=True))))
        merge_l = GroupedConverters(flux, num_groups=(5, 5))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(merge_b.converters[0]) == 7_976_448
    assert count(merge_b) == 111_747_488
    assert count(merge_l) == 1_435_391_552
    assert float(f'{count(merge_b):.2g}') == 110e6
    assert float(f'{count(merge_l):.2g}') == 1.4e9
