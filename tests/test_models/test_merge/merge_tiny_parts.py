"""Tiny MERGE parts shared by the MERGE tests (no network).

``build_pixel_vae`` is the generator of ``configs/merge/tiny_pixel_vae``
(see its README): a diffusers ``AutoencoderKL`` whose weights are set by hand
so that it encodes 4x4 pixel cells (RGB and their mean, normalised per image)
and decodes them back, which a random tiny VAE cannot do.
"""
import torch
TINY_PIXART = dict(
    num_attention_heads=2, attention_head_dim=8, in_channels=4,
    out_channels=8, num_layers=4, sample_size=4, caption_channels=16,
    cross_attention_dim=16, norm_type='ada_norm_single')
TINY_VAE = dict(
    type='AutoencoderKL', from_pretrained=None,
    config=dict(block_out_channels=(8, 8, 8, 8), layers_per_block=1,
                norm_num_groups=4, latent_channels=4,
                down_block_types=('DownEncoderBlock2D', ) * 4,
                up_block_types=('UpDecoderBlock2D', ) * 4,
                scaling_factor=0.18215, sample_size=32))
TINY_T5_TEXT = dict(
    type='TextEncoder',
    encoders=[dict(
        tokenizer=dict(type='ByteTokenizer', model_max_length=8,
                       add_bos=False),
        encoder=dict(type='T5EncoderModel', from_pretrained=None,
                     config=dict(vocab_size=259, d_model=16, d_kv=4,
                                 d_ff=32, num_layers=1, num_heads=2)),
        role='sequence', max_length=8)])
DDPM = dict(type='DDPMScheduler', num_train_timesteps=1000,
            beta_schedule='linear', beta_start=1e-4, beta_end=0.02,
            prediction_type='epsilon')


def tiny_merge_cfg(**overrides):
    cfg = dict(
        type='MERGE',
        backbone=dict(type='PixArtDiT', transformer=dict(
            type='PixArtTransformer2DModel', from_pretrained=None,
            config=TINY_PIXART)),
        fusion=dict(type='GroupedConverters', num_groups=2),
        codec=dict(type='LatentCodec', vae=TINY_VAE),
        text_encoder=TINY_T5_TEXT,
        train_scheduler=DDPM,
        test_scheduler=dict(type='DDIMScheduler', num_train_timesteps=1000,
                            beta_schedule='linear', beta_start=1e-4,
                            beta_end=0.02, prediction_type='epsilon'),
        num_inference_steps=2)
    cfg.update(overrides)
    return cfg

TINY_FLUX = dict(
    patch_size=1, in_channels=16, num_layers=3, num_single_layers=5,
    attention_head_dim=8, num_attention_heads=2, joint_attention_dim=16,
    pooled_projection_dim=8, guidance_embeds=True, axes_dims_rope=(2, 2, 4))


PIXEL_VAE_SHIFT = 10.0


def build_pixel_vae(num_blocks=3, channels=4):
    """Hand-set AutoencoderKL: x2**(num_blocks-1) average pooling encoder,
    nearest-upsampling decoder, per-image standardised latents.

    Every residual branch (resnet ``conv2``, attention ``to_out``) is zero,
    so the blocks are identities; the strided convs average 2x2 cells; the
    output GroupNorms standardise per image and shift by +10 so that SiLU is
    linear to 1e-3; the convs after them remove the shift. Latent channels
    0-2 hold R, G, B (depth replicated: its value), channel 3 their mean;
    the decoder returns 0.5 x (channels 0-2) so decoded values stay inside
    [-1, 1]. The round trip is an affine map per image up to the pooling.
    """
    from diffusers import AutoencoderKL
    n = num_blocks
    vae = AutoencoderKL(
        block_out_channels=(channels, ) * n, layers_per_block=1,
        norm_num_groups=1, latent_channels=4,
        down_block_types=('DownEncoderBlock2D', ) * n,
        up_block_types=('UpDecoderBlock2D', ) * n, scaling_factor=1.0,
        sample_size=32)
    eye = torch.eye(channels)

    def center(conv, mat):
        k = conv.kernel_size
        conv.weight[:, :, k[0] // 2, k[1] // 2] = mat

    with torch.no_grad():
        for p in vae.parameters():
            p.zero_()
        enc, dec = vae.encoder, vae.decoder
        rgb = torch.zeros(channels, 3)
        rgb[:3] = torch.eye(3)
        rgb[3] = 1 / 3
        center(enc.conv_in, rgb)
        for blk in enc.down_blocks:
            for ds in blk.downsamplers or []:
                ds.conv.weight[:, :, :2, :2] = eye[:, :, None, None] * 0.25
        for gn in (enc.conv_norm_out, dec.conv_norm_out):
            gn.weight.fill_(1.0)
            gn.bias.fill_(PIXEL_VAE_SHIFT)
        center(enc.conv_out, torch.cat([eye[:4], torch.zeros(4, channels)]))
        enc.conv_out.bias[:4] = -PIXEL_VAE_SHIFT
        enc.conv_out.bias[4:] = -20.0  # log-variance: near-deterministic
        vae.quant_conv.weight[:, :, 0, 0] = torch.eye(8)
        vae.post_quant_conv.weight[:, :, 0, 0] = torch.eye(4)
        center(dec.conv_in, torch.eye(channels, 4))
        for blk in dec.up_blocks:
            for us in blk.upsamplers or []:
                center(us.conv, eye)
        center(dec.conv_out, eye[:3] * 0.5)
        dec.conv_out.bias[:] = -PIXEL_VAE_SHIFT * 0.5
    return vae
