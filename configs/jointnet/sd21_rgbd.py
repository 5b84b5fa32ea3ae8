# JointNet stage 1 (Zhang et al., ICLR 2024): Stable Diffusion 2.1-base RGB
# UNet (frozen) + a trainable copy for depth, densely linked by zero convs
# (ZeroConvExchange). Trainable: the depth UNet + both directions' exchange
# convs = 865,910,724 + 2 x 11,491,520 = 888,893,764 parameters:
#   python tools/analysis_tools/count_params.py configs/jointnet/sd21_rgbd.py
# Train (paper: 64 A100 x batch 4 at 512 px, 10k iterations, lr 1e-4 with
# 1000 warm-up iterations, text dropout 15 %, noise offset 0.05):
#   bash tools/dist_train.sh configs/jointnet/sd21_rgbd.py 8
# Test as a depth estimator (rgb2j channel-wise inpainting):
#   python tools/test.py configs/jointnet/sd21_rgbd.py CKPT
_base_ = [
    './_base_/jointnet_sd21.py',
    '../_base_/datasets/nyu_depth_eval.py',
    '../_base_/default_runtime.py'
]

# COYO-style caption folders have no depth: label it online with
# DPT-Hybrid MiDaS (the paper's labeller; disparity, near = bright, as the
# official model), normalised per image to [-1, 1]
model = dict(labellers=dict(_delete_=True, depth=dict(
    transformers_class='DPTForDepthEstimation',
    from_pretrained='Intel/dpt-hybrid-midas')))

# COYO-700M filtered as the paper (both sides > 512, watermark < 0.5,
# aesthetic > 5); any image-caption folder works (docs/dataset_prepare.md)
train_pipeline = [
    dict(type='LoadImage'),
    # every kept image has both sides >= 512: a random 512 x 512 crop
    dict(type='RandomCrop', crop_size=(512, 512)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDenseInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='ImageCaptionDataset', data_root='data/coyo',
                 min_side=512, max_watermark=0.5, min_aesthetic=5.0,
                 pipeline=train_pipeline))

default_hooks = dict(
    checkpoint=dict(interval=2000, max_keep_ckpts=3, save_last=True),
    logger=dict(interval=50))

# the model learns MiDaS disparity: align in disparity space, as the
# paper's MegaDepth protocol (Table 2)
val_evaluator = dict(type='DepthMetric', protocol='auto',
                     alignment='least_squares_disparity')
test_evaluator = val_evaluator
