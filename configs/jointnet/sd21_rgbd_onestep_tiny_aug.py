# sd21_rgbd_onestep_tiny.py with augmentations aimed at real photographs
# (issue 20 item 9: the tiny models do not transfer to real NYUv2): random
# brightness / contrast / saturation / hue (PhotoMetricDistortion), a random
# zoom of 1-1.4x and a 48x64 crop (NYU's 3:4 aspect at the size the real-NYU
# configs process). Same model, loss and iterations.
#   python tools/train.py configs/jointnet/sd21_rgbd_onestep_tiny_aug.py
#   python tools/test.py configs/jointnet/sd21_rgbd_onestep_tiny_aug_nyu_real.py \
#       work_dirs/sd21_rgbd_onestep_tiny_aug/iter_600.pth
_base_ = ['./sd21_rgbd_onestep_tiny.py',
          '../_base_/datasets/synthetic_scenes_photo_aug.py']

train_dataloader = dict(dataset=dict(
    pipeline={{_base_.photo_aug_train_pipeline}}))
