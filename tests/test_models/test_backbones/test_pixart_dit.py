"""PixArtDiT: block-level access that reproduces diffusers' PixArt forward."""
import copy
import os.path as osp
import time
import unittest

import pytest
import torch
from mmengine.config import Config
from torch import nn

from unidense.models.backbones import PixArtDiT, PixArtState
from unidense.registry import MODELS

REPO = osp.join(osp.dirname(__file__), '..', '..', '..')
CFG_DIR = osp.join(REPO, 'configs', '_base_', 'models')


def _count_params_tool():
    """tools/analysis_tools/count_params.py as a module (not a package)."""
    import importlib.util
    path = osp.join(REPO, 'tools', 'analysis_tools', 'count_params.py')
    spec = importlib.util.spec_from_file_location('count_params_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _inputs(dit, batch=2, size=8, text_len=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    cap = dit.transformer.config.caption_channels
    x = torch.randn(batch, dit.in_channels, size, size, generator=g)
    t = torch.tensor([10, 731][:batch])
    text = torch.randn(batch, text_len, cap, generator=g)
    mask = torch.ones(batch, text_len, dtype=torch.long)
    mask[0, text_len // 2:] = 0  # padded caption in the first sample
    return x, t, text, mask


class TestPixArtDiT(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        torch.manual_seed(0)
        cfg = Config.fromfile(osp.join(CFG_DIR, 'pixart_xl_2_512_tiny.py'))
        cls.cfg = cfg
        cls.dit = MODELS.build(cfg.model)

    def test_built_from_tiny_config(self):
        dit = self.dit
        self.assertIsInstance(dit, PixArtDiT)
        self.assertEqual(type(dit.transformer).__name__,
                         'PixArtTransformer2DModel')
        self.assertEqual(dit.num_blocks, 4)
        self.assertEqual(dit.num_blocks % 2, 0)  # MERGE pairs the blocks
        self.assertEqual(
            (dit.hidden_size, dit.patch_size, dit.in_channels,
             dit.out_channels), (32, 2, 4, 8))
        self.assertIs(dit.blocks, dit.transformer.transformer_blocks)

    def test_tiny_config_parts_fit_together(self):
        """VAE latent + T5 text of the tiny config feed the backbone."""
        from unidense.registry import DIFFUSION_SCHEDULERS
        cfg = self.cfg
        codec = MODELS.build(cfg.codec)
        text_encoder = MODELS.build(cfg.text_encoder)
        scheduler = DIFFUSION_SCHEDULERS.build(cfg.scheduler)
        self.assertEqual(type(scheduler).__name__,
                         'DPMSolverMultistepScheduler')
        self.assertEqual(scheduler.config.prediction_type, 'epsilon')
        z = codec.encode_rgb(torch.rand(1, 3, 64, 48) * 2 - 1)
        self.assertEqual(z.shape, (1, 4, 8, 6))
        text = text_encoder.encode(['a red chair'])
        self.assertEqual(text['embeds'].shape, (1, 120, 16))
        with torch.no_grad():
            out = self.dit(z, 999, text['embeds'], text['mask'])
        self.assertEqual(out.shape, (1, 8, 8, 6))
        self.assertTrue(torch.isfinite(out).all())

    def test_chained_equals_diffusers_forward(self):
        dit = self.dit
        x, t, text, mask = _inputs(dit)
        with torch.no_grad():
            ref = dit.transformer(x, encoder_hidden_states=text, timestep=t,
                                  encoder_attention_mask=mask).sample
            out = dit(x, t, text, mask)
            # the explicit chain, as a fusion writes it
            state = dit.prepare(x, t, text, mask)
            for i in range(dit.num_blocks):
                state = dit.run_block(i, state)
            chained = dit.finalize(state)
            ref_nomask = dit.transformer(
                x, encoder_hidden_states=text, timestep=t).sample
            out_nomask = dit(x, t, text)
        self.assertEqual(out.shape, (2, 8, 8, 8))
        self.assertLessEqual((out - ref).abs().max().item(), 1e-6)
        self.assertLessEqual((chained - ref).abs().max().item(), 1e-6)
        self.assertLessEqual((out_nomask - ref_nomask).abs().max().item(),
                             1e-6)
        # the mask matters, so the comparison above can tell them apart
        self.assertGreater((ref - ref_nomask).abs().max().item(), 1e-4)

    def test_non_square_latent_and_scalar_timestep(self):
        dit = self.dit
        g = torch.Generator().manual_seed(1)
        x = torch.randn(2, 4, 6, 10, generator=g)
        text = torch.randn(2, 3, 16, generator=g)
        with torch.no_grad():
            ref = dit.transformer(x, encoder_hidden_states=text,
                                  timestep=torch.tensor([500, 500])).sample
            out = dit(x, 500, text)
        self.assertEqual(out.shape, (2, 8, 6, 10))
        self.assertLessEqual((out - ref).abs().max().item(), 1e-6)

    def test_additional_conditions(self):
        """PixArt-1024 style: resolution / aspect-ratio embeddings."""
        from diffusers import PixArtTransformer2DModel
        torch.manual_seed(0)
        tf = PixArtTransformer2DModel(
            # hidden 24: the size embeddings split it in three
            num_attention_heads=2, attention_head_dim=12, num_layers=2,
            cross_attention_dim=24, caption_channels=8, sample_size=128,
            use_additional_conditions=True)
        dit = PixArtDiT(tf)
        x = torch.randn(2, 4, 8, 8)
        text = torch.randn(2, 3, 8)
        t = torch.tensor([3, 900])
        cond = dict(resolution=torch.tensor([[1024., 1024.]] * 2),
                    aspect_ratio=torch.tensor([[1.0]] * 2))
        with torch.no_grad():
            ref = tf(x, encoder_hidden_states=text, timestep=t,
                     added_cond_kwargs=cond).sample
            out = dit(x, t, text, added_cond_kwargs=cond)
        self.assertLessEqual((out - ref).abs().max().item(), 1e-6)
        with self.assertRaisesRegex(ValueError, 'added_cond_kwargs'):
            dit.prepare(x, t, text)

    def test_state_shapes(self):
        dit = self.dit
        x, t, text, mask = _inputs(dit, text_len=5)
        with torch.no_grad():
            state = dit.prepare(x, t, text, mask)
            self.assertIsInstance(state, PixArtState)
            d = dit.hidden_size
            self.assertEqual(state.tokens.shape, (2, 16, d))
            self.assertEqual(state.timestep_mod.shape, (2, 6 * d))
            self.assertEqual(state.embedded_timestep.shape, (2, d))
            self.assertEqual(state.text.shape, (2, 5, d))
            self.assertEqual(state.text_bias.shape, (2, 1, 5))
            self.assertEqual(state.text_bias[0, 0, -1].item(), -10000.0)
            self.assertEqual(state.grid, (4, 4))
            before = state.tokens
            state = dit.run_block(0, state)
            self.assertEqual(state.tokens.shape, (2, 16, d))
            self.assertFalse(torch.equal(before, state.tokens))
        with self.assertRaises(IndexError):
            dit.run_block(dit.num_blocks, state)

    def test_custom_patch_embed_and_head(self):
        """MERGE-style use: 8-channel patch embed, own output head."""
        dit = self.dit
        tf = dit.transformer
        embed = copy.deepcopy(tf.pos_embed)
        w = embed.proj.weight.data
        embed.proj = nn.Conv2d(8, w.shape[0], 2, stride=2)
        # a widened copy of the frozen conv (weights halved, duplicated)
        # reproduces the frozen embedding of [x, x]
        embed.proj.weight.data = torch.cat([w, w], dim=1) * 0.5
        embed.proj.bias.data = tf.pos_embed.proj.bias.data.clone()
        x, t, text, mask = _inputs(dit)
        with torch.no_grad():
            ref = dit(x, t, text, mask)
            state = dit.prepare(torch.cat([x, x], 1), t, text, mask,
                                patch_embed=embed)
            for i in range(dit.num_blocks):
                state = dit.run_block(i, state)
            same = dit.finalize(state)
        self.assertLessEqual((same - ref).abs().max().item(), 1e-5)

        class Head(nn.Module):

            def __init__(self, d, out_channels):
                super().__init__()
                self.scale_shift_table = nn.Parameter(torch.zeros(2, d))
                self.norm_out = nn.LayerNorm(d, elementwise_affine=False)
                self.proj_out = nn.Linear(d, 2 * 2 * out_channels)
                self.out_channels = out_channels

        head = Head(dit.hidden_size, 4)
        out = dit.finalize(state, head=head)
        self.assertEqual(out.shape, (2, 4, 8, 8))
        # the patch layout of unpatchify: token (0, 0) fills pixels [0:2, 0:2]
        tok = head.proj_out(head.norm_out(state.tokens[:, 0]) *
                            (1 + state.embedded_timestep) +
                            state.embedded_timestep)
        expect = tok.view(2, 2, 2, 4).permute(0, 3, 1, 2)
        self.assertLessEqual(
            (out[:, :, :2, :2] - expect).abs().max().item(), 1e-5)

    def test_frozen_and_trainable_parts(self):
        dit = self.dit
        self.assertTrue(all(not p.requires_grad
                            for p in dit.transformer.parameters()))
        dit.train()
        self.assertTrue(dit.training)
        self.assertFalse(dit.transformer.training)
        # gradients reach a trainable patch embed through the frozen blocks
        embed = copy.deepcopy(dit.transformer.pos_embed).requires_grad_(True)
        x, t, text, mask = _inputs(dit)
        state = dit.prepare(x, t, text, mask, patch_embed=embed)
        for i in range(dit.num_blocks):
            state = dit.run_block(i, state)
        dit.finalize(state).square().mean().backward()
        self.assertIsNotNone(embed.proj.weight.grad)
        self.assertGreater(embed.proj.weight.grad.abs().sum().item(), 0)
        self.assertTrue(all(p.grad is None
                            for p in dit.transformer.parameters()))
        dit.eval()
        unfrozen = PixArtDiT(copy.deepcopy(dit.transformer), frozen=False)
        unfrozen.transformer.requires_grad_(True)
        unfrozen.train()
        self.assertTrue(unfrozen.transformer.training)

    def test_gradient_checkpointing(self):
        """enable_gradient_checkpointing() is honoured: blocks re-run."""
        tf = copy.deepcopy(self.dit.transformer).requires_grad_(True)
        dit = PixArtDiT(tf, frozen=False)
        x, t, text, mask = _inputs(dit, batch=1)
        calls = []
        dit.blocks[0].register_forward_pre_hook(lambda *a: calls.append(1))

        def grads():
            tf.zero_grad()
            calls.clear()
            dit(x, t[:1], text[:1], mask[:1]).square().mean().backward()
            return [p.grad.clone() for p in tf.parameters()]

        plain = grads()
        self.assertEqual(len(calls), 1)
        tf.enable_gradient_checkpointing()
        ours = grads()
        # forward + recompute in backward (pre-hooks: a non-reentrant
        # recompute may stop before the block returns)
        self.assertEqual(len(calls), 2)
        for a, b in zip(ours, plain):
            self.assertLessEqual((a - b).abs().max().item(), 1e-6)

    def test_bad_inputs(self):
        dit = self.dit
        x, t, text, mask = _inputs(dit)
        with self.assertRaisesRegex(ValueError, 'multiple of patch_size'):
            dit.prepare(x[..., :7], t, text, mask)
        with self.assertRaisesRegex(ValueError, r'\(B, C, H, W\)'):
            dit.prepare(x[0], t, text, mask)
        with self.assertRaisesRegex(ValueError, 'encoder_hidden_states'):
            dit.prepare(x, t, text[:1], mask)
        with self.assertRaisesRegex(TypeError, 'PixArtTransformer2DModel'):
            PixArtDiT(nn.Linear(2, 2))

    def test_tiny_forward_under_a_second(self):
        dit = self.dit
        x, t, text, mask = _inputs(dit, batch=1, text_len=120)
        t = t[:1]
        with torch.no_grad():
            dit(x, t, text, mask)  # warm-up
            times = []
            for _ in range(3):
                start = time.perf_counter()
                dit(x, t, text, mask)
                times.append(time.perf_counter() - start)
        # typically a few ms; the bound is loose for a shared 2-core box
        self.assertLess(min(times), 1.0)


class TestPixArtFullSize(unittest.TestCase):

    def test_meta_device_param_count(self):
        """PixArt-XL-2-512 transformer: 610.9M, 28 blocks x 21.26M."""
        cfg = Config.fromfile(osp.join(CFG_DIR, 'pixart_xl_2_512.py'))
        self.assertEqual(cfg.model.transformer.from_pretrained,
                         'PixArt-alpha/PixArt-XL-2-512x512')
        # the code path of `count_params.py CONFIG --device meta`
        tool = _count_params_tool()
        dit = tool.build_model(cfg.model, device='meta')
        params = list(dit.parameters())
        self.assertTrue(all(p.device.type == 'meta' for p in params))
        total, trainable, frozen = tool.count_parameters(dit)
        self.assertEqual((trainable, frozen), (0, total))
        block = sum(p.numel() for p in dit.blocks[0].parameters())
        self.assertEqual(dit.num_blocks, 28)
        self.assertEqual(dit.hidden_size, 1152)
        self.assertEqual(total, 610_856_096)
        self.assertEqual(block, 21_255_552)
        # the brief's rounded figures
        self.assertAlmostEqual(total / 1e6, 610.9, delta=0.05)
        self.assertAlmostEqual(block / 1e6, 21.26, delta=0.005)
        self.assertAlmostEqual(28 * block / 1e6, 595.2, delta=0.05)


if __name__ == '__main__':
    unittest.main()


def test_frozen_network_stays_in_eval_and_keeps_init_for_every_backbone():
    # one mechanism (FrozenNetworkBackbone) serves PixArtDiT, FluxDiT, SDUNet
    from torch import nn

    from unidense.models.backbones import FrozenNetworkBackbone

    class Net(nn.Module):

        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.drop = nn.Dropout(0.5)

    class Wrapper(FrozenNetworkBackbone):
        network_attr = 'net'

        def __init__(self, frozen):
            super().__init__()
            self.set_network(Net(), frozen)

    frozen, trainable = Wrapper(True), Wrapper(False)
    before = frozen.net.lin.weight.clone()
    frozen.train()
    trainable.train()
    assert not frozen.net.training and trainable.net.training
    assert not any(p.requires_grad for p in frozen.parameters())
    assert all(p.requires_grad for p in trainable.parameters())
    frozen.init_weights()
    assert torch.equal(frozen.net.lin.weight, before)
    with pytest.raises(TypeError, match='Wrapper: `net` must build a '
                       'diffusers UNet2DConditionModel .*down_blocks'):
        Wrapper(True).set_network(Net(), True,
                                  expected='UNet2DConditionModel',
                                  required_attrs=('down_blocks', ))
