# Panorama sampling of JointNet (paper §4.2; official jointnetpano_pipeline
# CLI settings), read by sd21_rgbd_panorama*.py: `model.sample(**sampling)`
# then `export_panorama(prefix, rgb, depth, **export)`.
sampling = dict(
    prompts='A beach with palm trees',
    height=512,
    width=2048,
    num_inference_steps=50,
    guidance_scale=7.5,
    tiling=dict(tile_size=64, stride=32, wrap=True, random_offset=True,
                full_view=0.4, full_view_weight=5.0, ramp=8, ramp_axes='x',
                batch_size=8))
# cylindrical, 180 degrees as the paper's 3D panoramas
export = dict(span_deg=180.0, mesh=True)
