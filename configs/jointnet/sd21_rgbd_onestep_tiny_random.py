# The control of sd21_rgbd_onestep_tiny.py: the same one-step JointNet and
# training on a *random* frozen UNet of the family's shape (as
# sd21_rgbd_tiny_random.py), to see what the pretrained prior contributes.
#   python tools/train.py configs/jointnet/sd21_rgbd_onestep_tiny_random.py
_base_ = ['./sd21_rgbd_onestep_tiny.py']

_zoo = '{{ fileDirname }}/../../model_zoo/unidense-tiny'
model = dict(estimator=dict(backbone=dict(unet=dict(
    _delete_=True, type='UNet2DConditionModel', config=_zoo,
    subfolder='unet'))))
