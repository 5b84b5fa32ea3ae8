# FLUX.1-dev (black-forest-labs/FLUX.1-dev): MMDiT transformer with 19 double-
# and 38 single-stream blocks (11,901,408,320 parameters), guidance embedding;
# 16-channel VAE (shift 0.1159, scale 0.3611); CLIP ViT-L pooled (77 tokens) +
# T5-v1.1-XXL (512 tokens); flow-matching Euler with dynamic shifting. `model`
# is the frozen DiT backbone alone. Algorithms reuse the variables below, e.g.
# (MERGE-L)
#   model = dict(_delete_=True, type='MERGE', backbone={{_base_.backbone}},
#                codec={{_base_.codec}}, text_encoder={{_base_.text_encoder}},
#                train_scheduler={{_base_.scheduler}}, fusion=dict(...))
flux_pretrained = 'black-forest-labs/FLUX.1-dev'

transformer = dict(
    type='FluxTransformer2DModel',
    from_pretrained=flux_pretrained,
    subfolder='transformer',
    # published transformer/config.json
    config=dict(
        attention_head_dim=128,
        axes_dims_rope=(16, 56, 56),
        guidance_embeds=True,
        in_channels=64,
        joint_attention_dim=4096,
        num_attention_heads=24,
        num_layers=19,
        num_single_layers=38,
        patch_size=1,
        pooled_projection_dim=768))

backbone = dict(type='FluxDiT', transformer=transformer, frozen=True)

vae = dict(
    type='AutoencoderKL',
    from_pretrained=flux_pretrained,
    subfolder='vae',
    # published vae/config.json
    config=dict(
        act_fn='silu',
        block_out_channels=(128, 256, 512, 512),
        down_block_types=('DownEncoderBlock2D', ) * 4,
        up_block_types=('UpDecoderBlock2D', ) * 4,
        force_upcast=True,
        in_channels=3,
        out_channels=3,
        latent_channels=16,
        layers_per_block=2,
        mid_block_add_attention=True,
        norm_num_groups=32,
        sample_size=1024,
        scaling_factor=0.3611,
        shift_factor=0.1159,
        use_quant_conv=False,
        use_post_quant_conv=False),
    frozen=True)
codec = dict(type='LatentCodec', vae=vae, sample_posterior=False)

text_encoder = dict(
    type='TextEncoder',
    encoders=[
        dict(
            tokenizer=dict(
                type='CLIPTokenizer',
                from_pretrained=flux_pretrained,
                subfolder='tokenizer'),
            encoder=dict(
                type='CLIPTextModel',
                from_pretrained=flux_pretrained,
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
            role='pooled',
            max_length=77),
        dict(
            tokenizer=dict(
                type='T5Tokenizer',
                from_pretrained=flux_pretrained,
                subfolder='tokenizer_2'),
            encoder=dict(
                type='T5EncoderModel',
                from_pretrained=flux_pretrained,
                subfolder='text_encoder_2',
                # published text_encoder_2/config.json (t5-v1_1-xxl encoder)
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
            max_length=512,
            # FluxPipeline does not give T5 the attention mask
            pass_mask=False)
    ],
    frozen=True)

# published scheduler/scheduler_config.json; at sampling time use
# unidense.pipelines.flow_match_timestep_kwargs for sigmas and mu
scheduler = dict(
    type='FlowMatchEulerDiscreteScheduler',
    num_train_timesteps=1000,
    shift=3.0,
    use_dynamic_shifting=True,
    base_shift=0.5,
    max_shift=1.15,
    base_image_seq_len=256,
    max_image_seq_len=4096)
# With dynamic shifting the scheduler's initial sigmas are the unshifted grid
# t / 1000, which is what FLUX fine-tuning (and MERGE-L) samples from.
train_scheduler = scheduler

model = dict(type='FluxDiT', transformer=transformer, frozen=True)
