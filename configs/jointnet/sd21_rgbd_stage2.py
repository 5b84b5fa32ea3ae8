# JointNet stage 2 (paper §3.4, "optionally ... the default setting in the
# following experiments"): resume from stage 1 and fine-tune everything,
# the RGB UNet included, at lr 1e-5 with 50 % text dropout so that the
# branches learn to condition on each other. The paper gives no iteration
# count for this stage; 10k as stage 1. Trainable: 1,754,804,488.
#   python tools/train.py configs/jointnet/sd21_rgbd_stage2.py \
#       --cfg-options load_from=work_dirs/sd21_rgbd/iter_10000.pth
_base_ = ['./sd21_rgbd.py']

model = dict(train_rgb_branch=True, caption_dropout=0.5)
optim_wrapper = dict(optimizer=dict(lr=1e-5))
# stage 1's trainable-only checkpoint (the RGB UNet comes from SD-2.1)
load_from = 'work_dirs/sd21_rgbd/iter_10000.pth'
