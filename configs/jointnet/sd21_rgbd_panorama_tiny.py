# sd21_rgbd_panorama.py at tiny sizes: a 64 x 256 px cylinder (16 x 64
# latents of the family's x4 VAE), tiles of the family's training size (16
# latents), stride 8, ramps of 2 latents; the schedule otherwise the same.
_base_ = ['./sd21_rgbd_stage2_tiny.py', './_base_/panorama.py']

sampling = dict(
    prompts='a room with white walls, a red box and a blue sphere',
    height=64, width=256, num_inference_steps=20, guidance_scale=3.0,
    tiling=dict(tile_size=16, stride=8, ramp=2))
