# Tiny random-init SD-style VAE for tests and CPU demos: still 4 blocks, so
# latents are H/8 x W/8 with 4 channels, exactly like the full SD VAE.
_base_ = ['./sd_vae.py']
vae = dict(
    from_pretrained=None,
    config=dict(
        block_out_channels=(8, 16, 16, 16),
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=64))
model = vae
