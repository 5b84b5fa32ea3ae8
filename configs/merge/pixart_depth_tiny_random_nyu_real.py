# pixart_depth_tiny_nyu_real.py for the random-DiT control
# (pixart_depth_tiny_random.py): same real NYU samples and protocol.
#   python tools/test.py configs/merge/pixart_depth_tiny_random_nyu_real.py CKPT
_base_ = ['./pixart_depth_tiny_nyu_real.py']

_zoo = '{{ fileDirname }}/../../model_zoo/unidense-tiny'
model = dict(backbone=dict(transformer=dict(
    _delete_=True, type='PixArtTransformer2DModel', config=_zoo,
    subfolder='transformer')))
save_frozen_weights = True
