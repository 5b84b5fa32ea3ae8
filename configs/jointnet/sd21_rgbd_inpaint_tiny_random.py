# The control of sd21_rgbd_inpaint_tiny.py: the same inpainting model,
# data and schedule on the random-UNet stage 1 (sd21_rgbd_tiny_random.py),
# i.e. without the family's text-to-image prior.
#   python tools/train.py configs/jointnet/sd21_rgbd_inpaint_tiny_random.py \
#       --cfg-options load_from=work_dirs/sd21_rgbd_tiny_random/iter_2000.pth
_base_ = ['./sd21_rgbd_inpaint_tiny.py']

_zoo = '{{ fileDirname }}/../../model_zoo/unidense-tiny'
model = dict(backbone=dict(unet=dict(
    _delete_=True, type='UNet2DConditionModel', config=_zoo,
    subfolder='unet')))
load_from = 'work_dirs/sd21_rgbd_tiny_random/iter_2000.pth'
