# PixArt-alpha XL-2 at 512 px (PixArt-alpha/PixArt-XL-2-512x512): DiT
# transformer (28 blocks x 21.26M, 610,856,096 parameters in all), T5-v1.1-XXL
# text encoder (120 tokens), SD VAE (f=8, 4 channels, scaling 0.18215) and the
# DPM-Solver++ scheduler shipped with the checkpoint. `model` is the frozen
# DiT backbone alone, so count_params.py counts the transformer. Algorithms
# reuse the variables below, e.g. (MERGE-B)
#   model = dict(_delete_=True, type='MERGE', backbone={{_base_.backbone}},
#                codec={{_base_.codec}}, text_encoder={{_base_.text_encoder}},
#                train_scheduler={{_base_.train_scheduler}},
#                test_scheduler={{_base_.scheduler}}, fusion=dict(...))
_base_ = ['./sd_vae.py']
pixart_pretrained = 'PixArt-alpha/PixArt-XL-2-512x512'

transformer = dict(
    type='PixArtTransformer2DModel',
    from_pretrained=pixart_pretrained,
    subfolder='transformer',
    # published transformer/config.json (keys PixArtTransformer2DModel takes)
    config=dict(
        activation_fn='gelu-approximate',
        attention_bias=True,
        attention_head_dim=72,
        attention_type='default',
        caption_channels=4096,
        cross_attention_dim=1152,
        dropout=0.0,
        in_channels=4,
        norm_elementwise_affine=False,
        norm_eps=1e-6,
        norm_num_groups=32,
        norm_type='ada_norm_single',
        num_attention_heads=16,
        num_embeds_ada_norm=1000,
        num_layers=28,
        out_channels=8,
        patch_size=2,
        sample_size=64,
        upcast_attention=False))

backbone = dict(type='PixArtDiT', transformer=transformer, frozen=True)

# PixArt ships the SD VAE (sd-vae-ft-ema weights) in its own `vae` folder
# (a child config's top-level values are not visible inside it, hence the
# explicit reference to the base VAE architecture)
vae = dict(
    type='AutoencoderKL',
    from_pretrained=pixart_pretrained,
    subfolder='vae',
    config={{_base_.vae.config}},
    frozen=True)
codec = dict(type='LatentCodec', vae=vae, sample_posterior=False)

text_encoder = dict(
    type='TextEncoder',
    encoders=[
        dict(
            tokenizer=dict(
                type='T5Tokenizer',
                from_pretrained=pixart_pretrained,
                subfolder='tokenizer'),
            encoder=dict(
                type='T5EncoderModel',
                from_pretrained=pixart_pretrained,
                subfolder='text_encoder',
                # published text_encoder/config.json (t5-v1_1-xxl encoder)
                config=dict(
                    d_ff=10240,
                    d_kv=64,
                    d_model=4096,
                    dense_act_fn='gelu_new',
                    dropout_rate=0.1,
                    eos_token_id=1,
                    feed_forward_proj='gated-gelu',
                    is_gated_act=True,
                    layer_norm_epsilon=1e-6,
                    num_heads=64,
                    num_layers=24,
                    pad_token_id=0,
                    relative_attention_max_distance=128,
                    relative_attention_num_buckets=32,
                    tie_word_embeddings=False,
                    vocab_size=32128)),
            role='sequence',
            max_length=120)
    ],
    frozen=True)

# published scheduler/scheduler_config.json: DPM-Solver++ (2M), linear betas,
# epsilon prediction; sampling uses it directly
scheduler = dict(
    type='DPMSolverMultistepScheduler',
    algorithm_type='dpmsolver++',
    beta_start=0.0001,
    beta_end=0.02,
    beta_schedule='linear',
    num_train_timesteps=1000,
    prediction_type='epsilon',
    solver_order=2,
    solver_type='midpoint',
    lower_order_final=True,
    thresholding=False,
    timestep_spacing='linspace',
    steps_offset=0,
    use_karras_sigmas=False)
# training noises with DDPM over the same betas, as MERGE-B's trainer does
train_scheduler = dict(
    type='DDPMScheduler',
    beta_start=0.0001,
    beta_end=0.02,
    beta_schedule='linear',
    num_train_timesteps=1000,
    prediction_type='epsilon',
    clip_sample=False)

model = dict(_delete_=True, **backbone)
