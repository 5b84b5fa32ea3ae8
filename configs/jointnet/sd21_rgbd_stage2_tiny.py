# sd21_rgbd_stage2.py at tiny sizes: everything trains (the family's RGB
# UNet too) at a tenth of stage 1's lr, text dropout 50 %.
#   python tools/train.py configs/jointnet/sd21_rgbd_stage2_tiny.py \
#       --cfg-options load_from=work_dirs/sd21_rgbd_tiny/iter_2000.pth
_base_ = ['./sd21_rgbd_tiny.py']

model = dict(train_rgb_branch=True, caption_dropout=0.5)
optim_wrapper = dict(optimizer=dict(lr=1e-4))
load_from = 'work_dirs/sd21_rgbd_tiny/iter_2000.pth'
