# sd21_rgbd_tiny_nyu_real.py for the random-UNet control
# (sd21_rgbd_tiny_random.py): the same real NYUv2 evaluation.
_base_ = ['./sd21_rgbd_tiny_nyu_real.py']

_zoo = '{{ fileDirname }}/../../model_zoo/unidense-tiny'
model = dict(backbone=dict(unet=dict(
    _delete_=True, type='UNet2DConditionModel', config=_zoo,
    subfolder='unet')))
