# The control of sd21_rgbd_tiny.py: the same JointNet, data and schedule,
# but the frozen RGB UNet (and hence its trainable depth copy) is the
# family's architecture with *random* weights - no text-to-image prior.
# The gap between the two is what the pretrained prior is worth.
_base_ = ['./sd21_rgbd_tiny.py']

_zoo = '{{ fileDirname }}/../../model_zoo/unidense-tiny'
model = dict(backbone=dict(unet=dict(
    _delete_=True, type='UNet2DConditionModel', config=_zoo,
    subfolder='unet')))
