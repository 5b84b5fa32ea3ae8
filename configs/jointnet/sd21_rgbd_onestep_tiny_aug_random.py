# The control of sd21_rgbd_onestep_tiny_aug.py: the same augmented one-step
# training on a *random* frozen UNet of the family's shape.
#   python tools/train.py configs/jointnet/sd21_rgbd_onestep_tiny_aug_random.py
#   python tools/test.py configs/jointnet/sd21_rgbd_onestep_tiny_aug_random_nyu_real.py \
#       work_dirs/sd21_rgbd_onestep_tiny_aug_random/iter_600.pth
_base_ = ['./sd21_rgbd_onestep_tiny_aug.py']

_zoo = '{{ fileDirname }}/../../model_zoo/unidense-tiny'
model = dict(estimator=dict(backbone=dict(unet=dict(
    _delete_=True, type='UNet2DConditionModel', config=_zoo,
    subfolder='unet'))))
