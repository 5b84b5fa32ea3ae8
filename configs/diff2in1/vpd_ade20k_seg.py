# Diff-2-in-1 on VPD (Table 2), stage 1 = VPD itself: ADE20K semantic
# segmentation from SD-1.5 (VAE posterior mean, no scaling, no noise, t = 1,
# the UNet fine-tuned at lr x 0.1), the output taps of each resolution plus
# the class-name cross-attention maps at strides 16 / 32 (150 channels),
# and mmseg's Semantic FPN head (VPDSegHead). Paper A.1: "we directly apply
# the self-improving algorithm ... on VPD".
# Train: python tools/train.py configs/diff2in1/vpd_ade20k_seg.py
# Test:  python tools/test.py configs/diff2in1/vpd_ade20k_seg.py CKPT
_base_ = [
    './_base_/vpd_sd15_features.py', '../_base_/datasets/ade20k_train.py',
    '../_base_/datasets/ade20k_eval.py', '../_base_/default_runtime.py'
]
from unidense.datasets.ade20k import ADE20K_CLASSES  # noqa: E402

model = dict(
    _delete_=True,
    type='DiffusionPerceptor',
    data_preprocessor=dict(type='DenseDataPreprocessor', size_divisor=64),
    backbone=dict(
        _base_.vpd_backbone,
        class_names=ADE20K_CLASSES,
        use_attn_maps=True,
        attn_strides=(16, 32)),
    # VPD feeds the taps to its head directly: [320, 790, 1430, 1280]
    neck=None,
    head=dict(type='VPDSegHead', num_classes=150))

del ADE20K_CLASSES

# 8 GPUs x 2 = 16; AdamW lr 8e-5, wd 1e-3 (none on norms), UNet lr x 0.1,
# 1500-iteration linear warm-up then poly (power 1), 80k iterations
train_dataloader = dict(batch_size=2)
_iters = 80000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=8e-5, weight_decay=1e-3),
    paramwise_cfg=dict(norm_decay_mult=0.0,
                       custom_keys={'backbone.unet': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
         end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=1500,
         end=_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=_iters,
                 val_interval=8000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=8000, max_keep_ckpts=2))
# mIoU over the 2000 validation images (ade20k_eval.py: IoUMetric); VPD's
# sliding-window inference (512, stride 341) is replaced by whole-image
# inference at the short side 512
