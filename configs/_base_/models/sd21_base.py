# Stable Diffusion v2.1-base (512 px, epsilon prediction): UNet (865,910,724
# parameters), SD VAE and OpenCLIP ViT-H/14 text encoder (23 layers: the
# penultimate layer of ViT-H is the published "last" layer).
_base_ = ['./sd_vae.py']
sd21_pretrained = 'stabilityai/stable-diffusion-2-1-base'

unet = dict(
    type='UNet2DConditionModel',
    from_pretrained=sd21_pretrained,
    subfolder='unet',
    # published unet/config.json
    config=dict(
        act_fn='silu',
        attention_head_dim=(5, 10, 20, 20),
        block_out_channels=(320, 640, 1280, 1280),
        center_input_sample=False,
        cross_attention_dim=1024,
        down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D',
                          'CrossAttnDownBlock2D', 'DownBlock2D'),
        downsample_padding=1,
        dual_cross_attention=False,
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
                        'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'),
        upcast_attention=False,
        use_linear_projection=True))

vae = dict(from_pretrained=sd21_pretrained)

text_encoder = dict(
    type='TextEncoder',
    encoders=[
        dict(
            tokenizer=dict(
                type='CLIPTokenizer',
                from_pretrained=sd21_pretrained,
                subfolder='tokenizer'),
            encoder=dict(
                type='CLIPTextModel',
                from_pretrained=sd21_pretrained,
                subfolder='text_encoder',
                # published text_encoder/config.json
                config=dict(
                    hidden_size=1024,
                    intermediate_size=4096,
                    num_attention_heads=16,
                    num_hidden_layers=23,
                    max_position_embeddings=77,
                    vocab_size=49408,
                    hidden_act='gelu',
                    projection_dim=512,
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
