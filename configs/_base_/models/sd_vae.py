# Stable Diffusion VAE (AutoencoderKL, f=8, 4 latent channels, 83,653,863
# parameters), shared by SD-1.5, SD-2.1 and PixArt-alpha. `model = vae` lets
# `tools/analysis_tools/count_params.py` count it on its own.
sd_vae_pretrained = 'stable-diffusion-v1-5/stable-diffusion-v1-5'
vae = dict(
    type='AutoencoderKL',
    from_pretrained=sd_vae_pretrained,
    subfolder='vae',
    # published vae/config.json
    config=dict(
        act_fn='silu',
        block_out_channels=(128, 256, 512, 512),
        down_block_types=('DownEncoderBlock2D', ) * 4,
        up_block_types=('UpDecoderBlock2D', ) * 4,
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        layers_per_block=2,
        norm_num_groups=32,
        sample_size=512,
        scaling_factor=0.18215),
    frozen=True)
model = vae
