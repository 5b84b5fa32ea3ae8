# sd21_rgbd_refine.py at tiny sizes: 16-latent tiles, stride 8, ramps of 2.
_base_ = ['./sd21_rgbd_inpaint_tiny.py', './_base_/refine.py']

sampling = dict(num_inference_steps=20, guidance_scale=1.0,
                tiling=dict(tile_size=16, stride=8, ramp=2))
