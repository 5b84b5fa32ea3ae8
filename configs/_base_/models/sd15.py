# Stable Diffusion v1.5: UNet (859,520,964 parameters), SD VAE and CLIP
# ViT-L/14 text encoder. `model` is the denoiser alone (SDUNet); algorithms
# reuse the `unet`, `vae`, `text_encoder` and `scheduler` variables, e.g.
#   model = dict(_delete_=True, type='...', backbone=dict(
#       type='SDUNetFeatures', unet={{_base_.unet}}, vae={{_base_.vae}},
#       text_encoder={{_base_.text_encoder}}))
_base_ = ['./sd_vae.py']
sd15_pretrained = 'stable-diffusion-v1-5/stable-diffusion-v1-5'

unet = dict(
    type='UNet2DConditionModel',
    from_pretrained=sd15_pretrained,
    subfolder='unet',
    # published unet/config.json
    config=dict(
        act_fn='silu',
        attention_head_dim=8,
        block_out_channels=(320, 640, 1280, 1280),
        center_input_sample=False,
        cross_attention_dim=768,
        down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D',
                          'CrossAttnDownBlock2D', 'DownBlock2D'),
        downsample_padding=1,
        flip_sin_to_cos=True,
        freq_shift=0,
        in_channels=4,
        layers_per_block=2,
        mid_block_scale_factor=1,
        norm_eps=1e-5,
        norm_num_groups=32,
        out_channels=4,
        sample_size=64,
        up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D',
                        'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D')))

vae = dict(from_pretrained=sd15_pretrained)

text_encoder = dict(
    type='TextEncoder',
    encoders=[
        dict(
            tokenizer=dict(
                type='CLIPTokenizer',
                from_pretrained=sd15_pretrained,
                subfolder='tokenizer'),
            encoder=dict(
                type='CLIPTextModel',
                from_pretrained=sd15_pretrained,
                subfolder='text_encoder',
                # published text_encoder/config.json (CLIP ViT-L/14)
                config=dict(
                    hidden_size=768,
                    intermediate_size=3072,
                    num_attention_heads=12,
                    num_hidden_layers=12,
                    max_position_embeddings=77,
                    vocab_size=49408,
                    hidden_act='quick_gelu',
                    projection_dim=768,
                    bos_token_id=0,
                    eos_token_id=2,
                    pad_token_id=1)),
            role='sequence',
            max_length=77)
    ],
    frozen=True)

# published scheduler/scheduler_config.json
scheduler = dict(
    type='DDPMScheduler',
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule='scaled_linear',
    num_train_timesteps=1000,
    clip_sample=False,
    steps_offset=1,
    prediction_type='epsilon')

model = dict(_delete_=True, type='SDUNet', unet=unet)
