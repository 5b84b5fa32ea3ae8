# The control of pixart_depth_tiny.py: the same MERGE-B tiny model, data and
# schedule, but the frozen DiT is the family's architecture with *random*
# weights (no text-to-image prior). Everything else - the pretrained tiny
# VAE and text encoder, converters, iterations - is identical, so the gap
# between the two is what the pretrained prior is worth (configs/merge/
# README.md, "MERGE's claim at our scale").
_base_ = ['./pixart_depth_tiny.py']

_zoo = '{{ fileDirname }}/../../model_zoo/unidense-tiny'
model = dict(backbone=dict(transformer=dict(
    _delete_=True, type='PixArtTransformer2DModel', config=_zoo,
    subfolder='transformer')))
# the random frozen DiT cannot be rebuilt from a folder, so checkpoints
# carry it (tools/test.py then needs nothing but the checkpoint)
save_frozen_weights = True
