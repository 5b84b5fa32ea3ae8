# sd21_rgbd_inpaint_tiny.py with the photo-style augmentations of
# sd21_rgbd_onestep_tiny_aug.py (random brightness / contrast / saturation
# / hue, a 1-1.4x zoom and a 48x64 crop, NYU's aspect at the size the
# real-NYU configs process), aimed at real photographs (issue 20 item 9).
#   python tools/train.py configs/jointnet/sd21_rgbd_inpaint_tiny_aug.py \
#       --cfg-options load_from=work_dirs/sd21_rgbd_tiny/iter_2000.pth
#   python tools/test.py configs/jointnet/sd21_rgbd_inpaint_tiny_nyu_real.py CKPT
_base_ = ['./sd21_rgbd_inpaint_tiny.py',
          '../_base_/datasets/synthetic_scenes_photo_aug.py']

train_dataloader = dict(dataset=dict(
    pipeline={{_base_.photo_aug_train_pipeline}}))
