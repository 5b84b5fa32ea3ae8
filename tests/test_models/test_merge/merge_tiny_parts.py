"""Tiny random-init MERGE parts shared by the MERGE tests (no network)."""
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
