# JointNet tiled refinement / upsampling (paper §5.2 "depth refinement",
# A.4; official jointnet_upsample_pipeline.py): the inpainting model,
# SDEdit with strength 0.4 (20 of 50 DDIM steps, from t = 381) on inputs
# resized to the target size (RGB Lanczos, depth nearest), 64-latent tiles
# with stride 32, no wrap, no whole-canvas view, weights ramped in x and y.
# Presets (_base_/refine.py): 'both' (refine RGB and depth), 'image' (RGB
# only, conditioned on depth at the target size), 'joint' (depth only,
# conditioned on RGB - the paper's MiDaS depth refinement):
#   out = model.sample(inputs=dict(rgb=..., depth=...), **cfg.sampling,
#                      masks=cfg.refine_presets['joint'])
_base_ = ['./sd21_rgbd_inpaint.py', './_base_/refine.py']
