# sd21_rgbd_panorama.py at tiny sizes: a 64 x 256 px cylinder (16 x 64
# latents of the family's x4 VAE), tiles of the family's training size (16
# latents), stride 8, ramps of 2 latents; same schedule otherwise.
_base_ = ['./sd21_rgbd_stage2_tiny.py']

sampling = dict(
    prompts='a room with white walls, a red box and a blue sphere',
    height=64,
    width=256,
    num_inference_steps=20,
    guidance_scale=3.0,
    tiling=dict(tile_size=16, stride=8, wrap=True, random_offset=True,
                full_view=0.4, full_view_weight=5.0, ramp=2, ramp_axes='x',
                batch_size=8))
export = dict(span_deg=180.0, mesh=True)
