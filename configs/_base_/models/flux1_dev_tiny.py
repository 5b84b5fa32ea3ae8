# FLUX.1-dev with tiny sizes (random init, no download): 2 double + 4 single
# blocks, 2 heads x head_dim 16 (RoPE axes 4 + 6 + 6 = 16), 16-channel tiny
# VAE (packed tokens of 64 features, as the full model), CLIP and T5 of width
# 16/24 with the offline ByteTokenizer. Same code path as the full model.
_base_ = ['./flux1_dev.py']

transformer = dict(
    from_pretrained=None,
    config=dict(
        attention_head_dim=16,
        axes_dims_rope=(4, 6, 6),
        num_attention_heads=2,
        num_layers=2,
        num_single_layers=4,
        joint_attention_dim=24,
        pooled_projection_dim=16))
backbone = dict(transformer=transformer)

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
            tokenizer=dict(type='ByteTokenizer', model_max_length=77),
            encoder=dict(
                type='CLIPTextModel',
                from_pretrained=None,
                config=dict(
                    hidden_size=16,
                    intermediate_size=32,
                    num_attention_heads=2,
                    num_hidden_layers=2,
                    max_position_embeddings=77,
                    vocab_size=259,
                    hidden_act='quick_gelu',
                    projection_dim=16,
                    bos_token_id=257,
                    eos_token_id=258,
                    pad_token_id=0)),
            role='pooled',
            max_length=77),
        dict(
            tokenizer=dict(
                type='ByteTokenizer', model_max_length=512, add_bos=False),
            encoder=dict(
                type='T5EncoderModel',
                from_pretrained=None,
                config=dict(
                    d_ff=32,
                    d_kv=12,
                    d_model=24,
                    num_heads=2,
                    num_layers=2,
                    relative_attention_num_buckets=8,
                    relative_attention_max_distance=16,
                    eos_token_id=258,
                    pad_token_id=0,
                    vocab_size=259)),
            role='sequence',
            max_length=512,
            pass_mask=False)
    ],
    frozen=True)

model = dict(transformer=transformer)
