# sd21_rgbd_onestep_tiny_aug_nyu_real.py for the random-UNet control
# (sd21_rgbd_onestep_tiny_aug_random.py; the seeded random UNet is rebuilt
# the same way): the same real NYUv2 evaluation.
_base_ = ['./sd21_rgbd_onestep_tiny_aug_nyu_real.py']

_zoo = '{{ fileDirname }}/../../model_zoo/unidense-tiny'
model = dict(estimator=dict(backbone=dict(unet=dict(
    _delete_=True, type='UNet2DConditionModel', config=_zoo,
    subfolder='unet'))))
