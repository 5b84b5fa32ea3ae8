# Tiled refinement / upsampling of JointNet (paper §5.2, A.4; official
# jointnet_upsample_pipeline settings), read by sd21_rgbd_refine*.py:
# `model.sample(inputs=..., masks=refine_presets[p], **sampling)`.
sampling = dict(
    prompts='',
    preset='both',
    strength=0.4,
    num_inference_steps=50,
    guidance_scale=7.5,
    tiling=dict(tile_size=64, stride=32, wrap=False, random_offset=False,
                full_view=0.0, ramp=8, ramp_axes='xy', batch_size=8))
# the official --preset both / image / joint
refine_presets = dict(both=dict(rgb=1, depth=1), image=dict(rgb=1, depth=0),
                      joint=dict(rgb=0, depth=1))
