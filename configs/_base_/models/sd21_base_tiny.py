# SD-2.1-base with tiny sizes (random init): same block types and 4 resolution
# levels, so every code path of the full model runs in well under a second.
_base_ = ['./sd21_base.py']

unet = dict(
    from_pretrained=None,
    config=dict(
        block_out_channels=(16, 32, 32, 32),
        layers_per_block=1,
        norm_num_groups=8,
        attention_head_dim=(2, 4, 4, 4),
        cross_attention_dim=32,
        sample_size=8))

# the tiny VAE of sd_vae_tiny.py (4 blocks: latents at H/8)
vae = dict(
    from_pretrained=None,
    config=dict(
        block_out_channels=(8, 16, 16, 16),
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=64))

text_encoder = dict(
    type='TextEncoder',
    encoders=[
        dict(
            tokenizer=dict(type='ByteTokenizer', model_max_length=77),
            encoder=dict(
                type='CLIPTextModel',
                from_pretrained=None,
                config=dict(
                    hidden_size=32,
                    intermediate_size=64,
                    num_attention_heads=4,
                    num_hidden_layers=2,
                    max_position_embeddings=77,
                    vocab_size=259,
                    hidden_act='gelu',
                    projection_dim=32,
                    bos_token_id=257,
                    eos_token_id=258,
                    pad_token_id=0)),
            role='sequence',
            max_length=77)
    ],
    frozen=True)

model = dict(unet=unet)
