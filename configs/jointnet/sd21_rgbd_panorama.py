# JointNet RGB-D panoramas (paper §4.2, §5.3; official
# jointnetpano_pipeline.py): the stage-2 joint model, tile-based joint
# generation of a 512 x 2048 cylinder (64 x 256 latents) - 64-latent tiles,
# stride 32, horizontal wrap, a random offset in [0, 32) each step, the
# whole canvas as a view of weight 5 for the first 40 % of the steps, tile
# weights falling linearly to the borders over 8 latents, 8 tiles per
# batch; decoded with circular padding (no seam). See _base_/panorama.py:
#   out = model.sample(**cfg.sampling)    # {'rgb', 'depth'} in [0, 1]
#   unidense.pipelines.rgbd_export.export_panorama(
#       prefix, out['rgb'][0], out['depth'][0], **cfg.export)
_base_ = ['./sd21_rgbd_stage2.py', './_base_/panorama.py']
