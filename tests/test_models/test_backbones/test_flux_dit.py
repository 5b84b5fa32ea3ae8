"""FluxDiT: block-level access that reproduces diffusers' FLUX forward."""
import copy
import os.path as osp
import time
import unittest

import torch
from diffusers import FluxPipeline
from mmengine.config import Config
from torch import nn

from unidense.models.backbones import FluxDiT, FluxState
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


def _inputs(dit, batch=2, latent=(8, 12), text_len=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    cfg = dit.transformer.config
    lat = torch.randn(batch, dit.in_channels // 4, *latent, generator=g)
    tokens = FluxDiT.pack_latents(lat)
    sigma = torch.tensor([0.25, 0.9][:batch])
    text = torch.randn(batch, text_len, cfg.joint_attention_dim, generator=g)
    pooled = torch.randn(batch, cfg.pooled_projection_dim, generator=g)
    img_ids = FluxDiT.latent_image_ids(*latent)
    txt_ids = torch.zeros(text_len, 3)
    guidance = torch.full((batch, ), 3.5)
    return tokens, sigma, text, pooled, img_ids, txt_ids, guidance


class TestFluxDiT(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        torch.manual_seed(0)
        cfg = Config.fromfile(osp.join(CFG_DIR, 'flux1_dev_tiny.py'))
        cls.cfg = cfg
        cls.dit = MODELS.build(cfg.model)

    def test_tiny_config_parts_fit_together(self):
        """16-ch VAE latent, CLIP pooled + T5 text feed the backbone."""
        from unidense.registry import DIFFUSION_SCHEDULERS
        cfg = self.cfg
        codec = MODELS.build(cfg.codec)
        self.assertAlmostEqual(codec.shift_factor, 0.1159)
        self.assertAlmostEqual(codec.scaling_factor, 0.3611)
        text_encoder = MODELS.build(cfg.text_encoder)
        scheduler = DIFFUSION_SCHEDULERS.build(cfg.scheduler)
        self.assertTrue(scheduler.config.use_dynamic_shifting)
        z = codec.encode_rgb(torch.rand(1, 3, 32, 48) * 2 - 1)
        self.assertEqual(z.shape, (1, 16, 4, 6))
        text = text_encoder.encode([''])
        self.assertEqual(text['embeds'].shape, (1, 512, 24))
        self.assertEqual(text['pooled'].shape, (1, 16))
        with torch.no_grad():
            out = self.dit(FluxDiT.pack_latents(z), torch.tensor([1.0]),
                           text['embeds'], text['pooled'],
                           FluxDiT.latent_image_ids(4, 6),
                           torch.zeros(512, 3), torch.tensor([0.0]))
        self.assertEqual(FluxDiT.unpack_latents(out, 4, 6).shape,
                         (1, 16, 4, 6))
        self.assertTrue(torch.isfinite(out).all())

    def test_built_from_tiny_config(self):
        dit = self.dit
        self.assertIsInstance(dit, FluxDiT)
        self.assertEqual(type(dit.transformer).__name__,
                         'FluxTransformer2DModel')
        self.assertEqual((dit.num_double_blocks, dit.num_single_blocks,
                          dit.hidden_size, dit.in_channels,
                          dit.out_channels), (2, 4, 32, 64, 64))
        self.assertTrue(dit.guidance_embeds)
        self.assertIs(dit.double_blocks, dit.transformer.transformer_blocks)
        self.assertIs(dit.single_blocks,
                      dit.transformer.single_transformer_blocks)

    def test_packing_matches_flux_pipeline(self):
        g = torch.Generator().manual_seed(3)
        lat = torch.randn(2, 16, 6, 10, generator=g)
        packed = FluxDiT.pack_latents(lat)
        ref = FluxPipeline._pack_latents(lat, 2, 16, 6, 10)
        self.assertTrue(torch.equal(packed, ref))
        self.assertEqual(packed.shape, (2, 15, 64))
        self.assertTrue(torch.equal(FluxDiT.unpack_latents(packed, 6, 10),
                                    lat))
        # FluxPipeline takes the pixel size (latent x VAE factor 8)
        self.assertTrue(torch.equal(
            FluxPipeline._unpack_latents(packed, 48, 80, 8), lat))
        ids = FluxDiT.latent_image_ids(6, 10)
        self.assertTrue(torch.equal(
            ids, FluxPipeline._prepare_latent_image_ids(2, 3, 5, 'cpu',
                                                        torch.float32)))
        # channel-major: [depth (16); rgb (16)] -> first 64 features = depth
        two = FluxDiT.pack_latents(torch.cat([lat, lat * 0], dim=1))
        self.assertTrue(torch.equal(two[..., :64], packed))
        self.assertEqual(two[..., 64:].abs().sum().item(), 0)
        with self.assertRaisesRegex(ValueError, 'even H and W'):
            FluxDiT.pack_latents(lat[..., :5])

    def test_chained_equals_diffusers_forward(self):
        dit = self.dit
        tokens, sigma, text, pooled, img_ids, txt_ids, guidance = _inputs(dit)
        with torch.no_grad():
            ref = dit.transformer(tokens, text, pooled, sigma, img_ids,
                                  txt_ids, guidance).sample
            out = dit(tokens, sigma, text, pooled, img_ids, txt_ids,
                      guidance)
            state = dit.prepare(tokens, sigma, text, pooled, img_ids,
                                txt_ids, guidance)
            for i in range(dit.num_double_blocks):
                state = dit.run_double_block(i, state)
            state = dit.start_single_stage(state)
            for i in range(dit.num_single_blocks):
                state = dit.run_single_block(i, state)
            chained = dit.finalize(state)
        self.assertEqual(out.shape, (2, 24, 64))
        self.assertLessEqual((out - ref).abs().max().item(), 1e-6)
        self.assertLessEqual((chained - ref).abs().max().item(), 1e-6)

    def test_state_shapes_and_joint_view(self):
        dit = self.dit
        tokens, sigma, text, pooled, img_ids, txt_ids, guidance = _inputs(dit)
        d = dit.hidden_size
        head_dim = dit.transformer.config.attention_head_dim
        with torch.no_grad():
            state = dit.prepare(tokens, sigma, text, pooled, img_ids,
                                txt_ids, guidance)
            self.assertIsInstance(state, FluxState)
            self.assertEqual(state.img.shape, (2, 24, d))
            self.assertEqual(state.txt.shape, (2, 5, d))
            self.assertEqual(state.temb.shape, (2, d))
            self.assertEqual(state.rotary[0].shape, (29, head_dim))
            self.assertEqual(state.img_rotary[1].shape, (24, head_dim))
            # image-only RoPE is the image part of the joint RoPE
            self.assertTrue(torch.equal(state.img_rotary[0],
                                        state.rotary[0][5:]))
            self.assertEqual(state.joint.shape, (2, 29, d))
            with self.assertRaisesRegex(RuntimeError, 'start_single_stage'):
                dit.run_single_block(0, state)
            state = dit.run_double_block(0, state)
            state = dit.start_single_stage(state)
            with self.assertRaisesRegex(RuntimeError, 'single stage'):
                dit.run_double_block(1, state)
            joint = state.joint
            state.joint = joint * 2
            self.assertTrue(torch.equal(state.txt, joint[:, :5] * 2))
            self.assertTrue(torch.equal(state.img, joint[:, 5:] * 2))
            with self.assertRaisesRegex(ValueError, 'FluxState.joint'):
                state.joint = joint[:, 1:]
            # a converter on image tokens only: empty text stream + img RoPE
            _, img = dit.single_blocks[0](
                hidden_states=state.img,
                encoder_hidden_states=state.img[:, :0],
                temb=state.temb, image_rotary_emb=state.img_rotary)
            self.assertEqual(img.shape, (2, 24, d))
        with self.assertRaises(IndexError):
            dit.run_double_block(dit.num_double_blocks, state)

    def test_custom_embedder_and_head(self):
        """MERGE-L style: 128-d [depth; rgb] tokens and an own head."""
        dit = self.dit
        tf = dit.transformer
        tokens, sigma, text, pooled, img_ids, txt_ids, guidance = _inputs(dit)
        embed = nn.Linear(128, dit.hidden_size)
        with torch.no_grad():
            embed.weight.zero_()
            embed.weight[:, :64] = tf.x_embedder.weight
            embed.bias.copy_(tf.x_embedder.bias)
        wide = torch.cat([tokens, torch.randn_like(tokens)], dim=-1)
        head = nn.Module()
        head.norm_out = copy.deepcopy(tf.norm_out)
        head.proj_out = nn.Linear(dit.hidden_size, 64)
        with torch.no_grad():
            ref = dit(tokens, sigma, text, pooled, img_ids, txt_ids,
                      guidance)
            state = dit.prepare(wide, sigma, text, pooled, img_ids, txt_ids,
                                guidance, x_embedder=embed)
            for i in range(dit.num_double_blocks):
                state = dit.run_double_block(i, state)
            state = dit.start_single_stage(state)
            for i in range(dit.num_single_blocks):
                state = dit.run_single_block(i, state)
            # zero RGB half: same tokens as the frozen embedder
            self.assertLessEqual(
                (dit.finalize(state) - ref).abs().max().item(), 1e-5)
            out = dit.finalize(state, head=head)
            expect = head.proj_out(tf.norm_out(state.img, state.temb))
        self.assertTrue(torch.equal(out, expect))

    def test_gradient_checkpointing(self):
        """enable_gradient_checkpointing() is honoured: blocks re-run."""
        tf = copy.deepcopy(self.dit.transformer).requires_grad_(True)
        dit = FluxDiT(tf, frozen=False)
        args = _inputs(dit, batch=1)
        calls = []
        dit.double_blocks[0].register_forward_pre_hook(
            lambda *a: calls.append('double'))
        dit.single_blocks[0].register_forward_pre_hook(
            lambda *a: calls.append('single'))

        def grads():
            tf.zero_grad()
            calls.clear()
            dit(*args).square().mean().backward()
            return [p.grad.clone() for p in tf.parameters()
                    if p.grad is not None]

        plain = grads()
        self.assertEqual(sorted(calls), ['double', 'single'])
        tf.enable_gradient_checkpointing()
        ours = grads()
        self.assertEqual(sorted(calls), ['double'] * 2 + ['single'] * 2)
        self.assertEqual(len(ours), len(plain))
        for a, b in zip(ours, plain):
            self.assertLessEqual((a - b).abs().max().item(), 1e-6)

    def test_frozen_and_errors(self):
        dit = self.dit
        self.assertTrue(all(not p.requires_grad
                            for p in dit.transformer.parameters()))
        dit.train()
        self.assertFalse(dit.transformer.training)
        dit.eval()
        tokens, sigma, text, pooled, img_ids, txt_ids, guidance = _inputs(dit)
        with self.assertRaisesRegex(ValueError, 'guidance'):
            dit.prepare(tokens, sigma, text, pooled, img_ids, txt_ids)
        with self.assertRaisesRegex(ValueError, 'pack_latents'):
            dit.prepare(tokens.view(2, 24, 8, 8), sigma, text, pooled,
                        img_ids, txt_ids, guidance)
        with self.assertRaisesRegex(ValueError, 'img_ids'):
            dit.prepare(tokens, sigma, text, pooled, img_ids[:3], txt_ids,
                        guidance)
        with self.assertRaisesRegex(TypeError, 'FluxTransformer2DModel'):
            FluxDiT(nn.Linear(2, 2))

    def test_tiny_forward_under_a_second(self):
        dit = self.dit
        args = _inputs(dit, batch=1, text_len=512)
        with torch.no_grad():
            dit(*args)  # warm-up
            times = []
            for _ in range(3):
                start = time.perf_counter()
                dit(*args)
                times.append(time.perf_counter() - start)
        self.assertLess(min(times), 1.0)


class TestFluxFullSize(unittest.TestCase):

    def test_meta_device_param_count(self):
        """FLUX.1-dev transformer: 11,901,408,320 parameters (the brief)."""
        cfg = Config.fromfile(osp.join(CFG_DIR, 'flux1_dev.py'))
        self.assertEqual(cfg.model.transformer.from_pretrained,
                         'black-forest-labs/FLUX.1-dev')
        # the code path of `count_params.py CONFIG --device meta`
        tool = _count_params_tool()
        dit = tool.build_model(cfg.model, device='meta')
        params = list(dit.parameters())
        self.assertTrue(all(p.device.type == 'meta' for p in params))
        self.assertEqual((dit.num_double_blocks, dit.num_single_blocks,
                          dit.hidden_size), (19, 38, 3072))
        total, trainable, frozen = tool.count_parameters(dit)
        self.assertEqual(total, 11_901_408_320)
        self.assertEqual((trainable, frozen), (0, total))


if __name__ == '__main__':
    unittest.main()
