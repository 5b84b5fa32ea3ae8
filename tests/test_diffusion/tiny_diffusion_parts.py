"""Tiny random-init configs of the diffusion parts, shared by the tests."""
TINY_UNET = dict(
    type='UNet2DConditionModel',
    config=dict(
        block_out_channels=(16, 32, 32, 32),
        layers_per_block=1,
        norm_num_groups=8,
        attention_head_dim=4,
        cross_attention_dim=32,
        sample_size=8,
        down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D',
                          'CrossAttnDownBlock2D', 'DownBlock2D'),
        up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D',
                        'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D')))

TINY_VAE = dict(
    type='AutoencoderKL',
    config=dict(
        block_out_channels=(8, 16, 16, 16),
        down_block_types=('DownEncoderBlock2D', ) * 4,
        up_block_types=('UpDecoderBlock2D', ) * 4,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=64,
        scaling_factor=0.18215))

TINY_CLIP = dict(
    type='CLIPTextModel',
    config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=4,
                num_hidden_layers=2, max_position_embeddings=77,
                vocab_size=259, projection_dim=32, bos_token_id=257,
                eos_token_id=258, pad_token_id=0))

TINY_T5 = dict(
    type='T5EncoderModel',
    config=dict(d_model=32, d_ff=64, d_kv=8, num_heads=4, num_layers=2,
                vocab_size=259, pad_token_id=0, eos_token_id=258,
                feed_forward_proj='gated-gelu'))


def clip_entry(role='sequence', max_length=77):
    return dict(tokenizer=dict(type='ByteTokenizer', model_max_length=77),
                encoder=TINY_CLIP, role=role, max_length=max_length)


def t5_entry(max_length=16):
    return dict(tokenizer=dict(type='ByteTokenizer', add_bos=False),
                encoder=TINY_T5, role='sequence', max_length=max_length)
