# PixArt-XL-2-512 with tiny sizes (random init, no download): 4 blocks (even,
# so MERGE can pair them), hidden 32 = 2 heads x 16, T5 of width 16, the tiny
# SD-style VAE and the offline ByteTokenizer. Same code path as the full model;
# a forward pass on an 8x8 latent takes a few milliseconds on CPU.
_base_ = ['./pixart_xl_2_512.py']

transformer = dict(
    from_pretrained=None,
    config=dict(
        num_layers=4,
        num_attention_heads=2,
        attention_head_dim=16,
        cross_attention_dim=32,
        caption_channels=16,
        sample_size=8))
backbone = dict(transformer=transformer)

# the tiny VAE of sd_vae_tiny.py (4 blocks: latents at H/8, 4 channels)
vae = dict(
    from_pretrained=None,
    config=dict(
        block_out_channels=(8, 16, 16, 16),
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=64))
codec = dict(vae=vae)

text_encoder = dict(
    type='TextEncoder',
    encoders=[
        dict(
            # T5 has no bos token
            tokenizer=dict(
                type='ByteTokenizer', model_max_length=120, add_bos=False),
            encoder=dict(
                type='T5EncoderModel',
                from_pretrained=None,
                config=dict(
                    d_ff=32,
                    d_kv=8,
                    d_model=16,
                    num_heads=2,
                    num_layers=2,
                    relative_attention_num_buckets=8,
                    relative_attention_max_distance=16,
                    eos_token_id=258,
                    pad_token_id=0,
                    vocab_size=259)),
            role='sequence',
            max_length=120)
    ],
    frozen=True)

model = dict(transformer=transformer)
