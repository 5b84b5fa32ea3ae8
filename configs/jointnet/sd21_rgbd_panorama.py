# JointNet RGB-D panoramas (paper §4.2, §5.3; official
# jointnetpano_pipeline.py): the stage-2 joint model, tile-based joint
# generation of a 512 x 2048 cylinder (64 x 256 latents) - 64-latent tiles,
# stride 32, horizontal wrap, a random offset in [0, 32) each step, the
# whole canvas as a view of weight 5 for the first 40 % of the steps, tile
# weights falling linearly to the borders over 8 latents, 8 tiles per
# batch; decoded with circular padding (no seam).
#   model = init from this config + load the stage-2 checkpoint, then
#   out = model.sample(**cfg.sampling)    # {'rgb', 'depth'} in [0, 1]
# Export: unidense.pipelines.rgbd_export (16-bit depth PNG, colour map,
# PLY point cloud / mesh of the cylinder, 180 degrees as the paper).
_base_ = ['./sd21_rgbd_stage2.py']

sampling = dict(
    prompts='A beach with palm trees',
    height=512,
    width=2048,
    num_inference_steps=50,
    guidance_scale=7.5,
    tiling=dict(tile_size=64, stride=32, wrap=True, random_offset=True,
                full_view=0.4, full_view_weight=5.0, ramp=8, ramp_axes='x',
                batch_size=8))
export = dict(span_deg=180.0, mesh=True)
