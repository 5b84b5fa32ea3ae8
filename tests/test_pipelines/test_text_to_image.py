"""generate_images: diffusers' own pipelines on unidense parts.

Bitwise equal to the pipeline called by hand (SD; PixArt and FLUX are
covered through MERGE.generate in tests/test_models/test_merge), prompts
encoded by unidense's TextEncoder, and VAEs of any depth (a 3-block VAE
downsamples 4x, not 8x).
"""
import os.path as osp
import sys

import pytest
import torch

from unidense.registry import DIFFUSION_SCHEDULERS, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tests', 'test_models', 'test_merge'))

DDIM = dict(type='DDIMScheduler', num_train_timesteps=1000,
            beta_schedule='scaled_linear', beta_start=0.00085,
            beta_end=0.012, prediction_type='epsilon', clip_sample=False,
            steps_offset=1)


def _cfg(name):
    from mmengine import Config
    return Config.fromfile(osp.join(REPO, 'configs', '_base_', 'models',
                                    name))


@pytest.fixture(scope='module')
def sd15():
    import unidense.diffusion  # noqa: F401
    cfg = _cfg('sd15_tiny.py')
    torch.manual_seed(0)
    return (MODELS.build(cfg.unet), MODELS.build(dict(cfg.vae)),
            MODELS.build(cfg.text_encoder))


def test_sd_is_bitwise_the_stable_diffusion_pipeline(sd15):
    from diffusers import StableDiffusionPipeline
    from unidense.pipelines import generate_images
    unet, vae, text_encoder = sd15
    prompts = ['a red box', 'a room']
    ours = generate_images(unet, vae, text_encoder, DDIM, prompts,
                           num_inference_steps=3, guidance_scale=5.0,
                           generator=torch.Generator().manual_seed(3))
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=None, tokenizer=None, unet=unet,
        scheduler=DIFFUSION_SCHEDULERS.build(DDIM), safety_checker=None,
        feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    ref = pipe(prompt_embeds=text_encoder.encode(prompts)['embeds'],
               negative_prompt_embeds=text_encoder.encode(['', ''])['embeds'],
               num_inference_steps=3, guidance_scale=5.0, output_type='pt',
               generator=torch.Generator().manual_seed(3)).images
    # default size: unet sample_size (8) x VAE scale factor (8)
    assert ours.shape == ref.shape == (2, 3, 64, 64)
    assert torch.equal(ours, ref)
    assert 0 <= ours.min() and ours.max() <= 1


def test_prompts_and_embeddings_give_the_same_images(sd15):
    from unidense.pipelines import generate_images
    unet, vae, text_encoder = sd15
    kw = dict(num_inference_steps=2, guidance_scale=3.0, height=32,
              width=32)
    by_text = generate_images(unet, vae, text_encoder, DDIM, 'a lamp',
                              generator=torch.Generator().manual_seed(0),
                              **kw)
    embeds = generate_images(
        unet, vae, None, DDIM, None,
        prompt_embeds=text_encoder.encode(['a lamp'])['embeds'],
        negative_prompt_embeds=text_encoder.encode([''])['embeds'],
        generator=torch.Generator().manual_seed(0), **kw)
    assert by_text.shape == (1, 3, 32, 32)
    assert torch.equal(by_text, embeds)
    with pytest.raises(ValueError, match='prompts or prompt_embeds'):
        generate_images(unet, vae, text_encoder, DDIM, None)
    with pytest.raises(TypeError, match='no text-to-image pipeline'):
        generate_images(torch.nn.Linear(2, 2), vae, text_encoder, DDIM, 'a')


def test_pixart_and_flux_with_a_three_block_vae():
    """A 3-block VAE (4x): the default size is sample_size x 4, and FLUX's
    packing still gets even latent sides."""
    from merge_tiny_parts import TINY_FLUX, TINY_PIXART, build_pixel_vae
    from unidense.pipelines import generate_images
    import unidense.diffusion  # noqa: F401
    vae = build_pixel_vae(num_blocks=3)
    torch.manual_seed(0)
    pixart = MODELS.build(dict(type='PixArtTransformer2DModel',
                               config=TINY_PIXART))
    t5 = MODELS.build(dict(type='TextEncoder', encoders=[dict(
        tokenizer=dict(type='ByteTokenizer', model_max_length=8,
                       add_bos=False),
        encoder=dict(type='T5EncoderModel',
                     config=dict(vocab_size=259, d_model=16, d_kv=4,
                                 d_ff=32, num_layers=1, num_heads=2)),
        role='sequence', max_length=8)]))
    images = generate_images(pixart, vae, t5, DDIM, ['a', 'b'],
                             num_inference_steps=2)
    assert images.shape == (2, 3, 16, 16)  # sample_size 4 x 4
    assert 0 <= images.min() and images.max() <= 1

    flux = MODELS.build(dict(type='FluxTransformer2DModel',
                             config=dict(TINY_FLUX, in_channels=16)))
    flux_text = MODELS.build(dict(type='TextEncoder', encoders=[
        dict(tokenizer=dict(type='ByteTokenizer', model_max_length=8),
             encoder=dict(type='CLIPTextModel', config=dict(
                 hidden_size=8, intermediate_size=16, num_attention_heads=2,
                 num_hidden_layers=1, max_position_embeddings=8,
                 vocab_size=259, projection_dim=8, bos_token_id=257,
                 eos_token_id=258, pad_token_id=0)),
             role='pooled', max_length=8),
        dict(tokenizer=dict(type='ByteTokenizer', model_max_length=8,
                            add_bos=False),
             encoder=dict(type='T5EncoderModel', config=dict(
                 vocab_size=259, d_model=16, d_kv=4, d_ff=32, num_layers=1,
                 num_heads=2)),
             role='sequence', max_length=8, pass_mask=False)]))
    flow = dict(type='FlowMatchEulerDiscreteScheduler', shift=3.0,
                use_dynamic_shifting=True)
    vae.register_to_config(shift_factor=0.0)  # FluxPipeline reads it
    images = generate_images(flux, vae, flux_text, flow, 'a room',
                             height=24, width=32, num_inference_steps=2,
                             guidance_scale=3.5)
    assert images.shape == (1, 3, 24, 32)
