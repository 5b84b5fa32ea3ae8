# VPD's use of SD-1.5 (brief 2.1-2.2): VAE posterior mean, no scaling, no
# noise, one UNet call at t = 1, the last up tap of each resolution
# ([320, 640, 1280, 1280]), the UNet fine-tuned (frozen_unet=False). The text
# context is made of class names: CLIP ViT-L/14 pooled (projected) text
# features averaged over prompt templates, through a trainable text
# adapter. Method configs set `class_names` (and the attention maps for
# segmentation).
_base_ = ['./sd15_features.py']

vpd_text_encoder = dict(
    type='TextEncoder',
    encoders=[
        _base_.text_encoder.encoders[0],
        dict(
            tokenizer=dict(type='CLIPTokenizer',
                           from_pretrained='openai/clip-vit-large-patch14'),
            encoder=dict(
                type='CLIPTextModelWithProjection',
                from_pretrained='openai/clip-vit-large-patch14',
                config=dict(hidden_size=768, intermediate_size=3072,
                            num_attention_heads=12, num_hidden_layers=12,
                            max_position_embeddings=77, vocab_size=49408,
                            hidden_act='quick_gelu', projection_dim=768,
                            bos_token_id=49406, eos_token_id=49407,
                            pad_token_id=1)),
            role='pooled',
            max_length=77)
    ],
    frozen=True)
vpd_backbone = dict(
    _base_.backbone,
    text_encoder=vpd_text_encoder,
    timestep=1,
    posterior='mean',
    apply_scaling=False,
    add_noise=False,
    text='class_names',
    text_adapter=dict(type='TextAdapter', dim=768),
    taps='vpd',
    frozen_unet=False)
