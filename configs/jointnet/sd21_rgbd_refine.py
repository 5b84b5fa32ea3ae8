# JointNet tiled refinement / upsampling (paper §5.2 "depth refinement",
# A.4; official jointnet_upsample_pipeline.py): the inpainting model,
# SDEdit with strength 0.4 (20 of 50 DDIM steps, from t = 381) on inputs
# resized to the target size (RGB Lanczos, depth nearest), 64-latent tiles
# with stride 32, no wrap, no whole-canvas view, weights ramped in x and y.
# Presets: 'both' (refine RGB and depth), 'image' (RGB only, conditioned on
# depth at the target size), 'joint' (depth only, conditioned on RGB - the
# paper's MiDaS depth refinement), i.e. sample(masks=...) below.
#   out = model.sample(inputs=dict(rgb=..., depth=...), **cfg.sampling,
#                      masks=cfg.refine_presets['joint'])
_base_ = ['./sd21_rgbd_inpaint.py']

sampling = dict(
    prompts='',
    preset='both',
    strength=0.4,
    num_inference_steps=50,
    guidance_scale=7.5,
    tiling=dict(tile_size=64, stride=32, wrap=False, random_offset=False,
                full_view=0.0, ramp=8, ramp_axes='xy', batch_size=8))
refine_presets = dict(both=dict(rgb=1, depth=1), image=dict(rgb=1, depth=0),
                      joint=dict(rgb=0, depth=1))
