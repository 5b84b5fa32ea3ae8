# The tiny family unidense pretrains itself (model_zoo/unidense-tiny/): one
# place for its architectures, used by configs/pretrain/*.py to train it and
# by the methods' *_tiny configs to load it. Every part is the diffusers /
# transformers class of the full-size models, at 64x64 pixels.
tiny_family_dir = '{{ fileDirname }}/../../../model_zoo/unidense-tiny'

# SD-style KL VAE, 3 blocks: x4 downsampling, 4 latent channels.
vae_architecture = dict(
    type='AutoencoderKL',
    config=dict(
        in_channels=3,
        out_channels=3,
        down_block_types=['DownEncoderBlock2D'] * 3,
        up_block_types=['UpDecoderBlock2D'] * 3,
        block_out_channels=[16, 32, 64],
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=16,
        sample_size=64))

# Word-level tokenizer over SyntheticScenes.vocabulary() + a seeded random
# T5 encoder (fixed, never trained), written with the scheduler by
# tools/pretrain/make_tiny_fixed_parts.py.
text_max_length = 48
text_encoder_architecture = dict(
    d_model=64, d_kv=16, num_heads=4, num_layers=2, d_ff=128,
    relative_attention_num_buckets=16, relative_attention_max_distance=32,
    dropout_rate=0.0, pad_token_id=0, eos_token_id=1,
    decoder_start_token_id=0)
text_encoder = dict(
    type='TextEncoder',
    encoders=[
        dict(
            tokenizer=dict(type='PreTrainedTokenizerFast',
                           from_pretrained=tiny_family_dir,
                           subfolder='tokenizer'),
            encoder=dict(type='T5EncoderModel',
                         from_pretrained=tiny_family_dir,
                         subfolder='text_encoder'),
            role='sequence',
            max_length=text_max_length)
    ],
    frozen=True)
vae = dict(type='AutoencoderKL', from_pretrained=tiny_family_dir,
           subfolder='vae')

# PixArt-alpha DiT on 16x16x4 latents: patch 2 -> 64 tokens, 6 blocks of
# width 128 (4 heads x 32), learnt-variance output (8 channels) as PixArt.
transformer_architecture = dict(
    type='PixArtTransformer2DModel',
    config=dict(
        num_layers=6, num_attention_heads=4, attention_head_dim=32,
        in_channels=4, out_channels=8, sample_size=16, patch_size=2,
        cross_attention_dim=128, caption_channels=64,
        norm_type='ada_norm_single', norm_elementwise_affine=False,
        norm_eps=1e-6, activation_fn='gelu-approximate',
        attention_bias=True, use_additional_conditions=False))
# SD-style UNet on 16x16x4 latents: 4 levels like SD (16, 8, 4, 2),
# cross-attention at the middle two levels and the mid block.
unet_architecture = dict(
    type='UNet2DConditionModel',
    config=dict(
        sample_size=16, in_channels=4, out_channels=4,
        block_out_channels=[32, 64, 64, 64], layers_per_block=1,
        down_block_types=['DownBlock2D', 'CrossAttnDownBlock2D',
                          'CrossAttnDownBlock2D', 'DownBlock2D'],
        up_block_types=['UpBlock2D', 'CrossAttnUpBlock2D',
                        'CrossAttnUpBlock2D', 'UpBlock2D'],
        cross_attention_dim=64, attention_head_dim=8, norm_num_groups=16))

# Noise schedule of both denoisers: DDPM's linear betas (as PixArt-alpha;
# its terminal SNR is lower than SD's scaled-linear one, which matters at
# 16x16 latents), v-prediction (as SD-2.1), 1000 steps. Saved with the
# family as model_zoo/unidense-tiny/scheduler.
train_scheduler = dict(type='DDPMScheduler', num_train_timesteps=1000,
                       beta_start=0.0001, beta_end=0.02,
                       beta_schedule='linear',
                       prediction_type='v_prediction', clip_sample=False,
                       steps_offset=1)
