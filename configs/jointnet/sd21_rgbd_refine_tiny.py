# sd21_rgbd_refine.py at tiny sizes: 16-latent tiles, stride 8, ramps of 2.
_base_ = ['./sd21_rgbd_inpaint_tiny.py']

sampling = dict(
    prompts='',
    preset='both',
    strength=0.4,
    num_inference_steps=20,
    guidance_scale=1.0,
    tiling=dict(tile_size=16, stride=8, wrap=False, random_offset=False,
                full_view=0.0, ramp=2, ramp_axes='xy', batch_size=8))
refine_presets = dict(both=dict(rgb=1, depth=1), image=dict(rgb=1, depth=0),
                      joint=dict(rgb=0, depth=1))
