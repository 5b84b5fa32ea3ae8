# Diff-2-in-1 on Bae et al. (Table 1), stage 1 (warm-up): surface normals
# + uncertainty on NYUv2 (795 official training images), frozen SD-1.5
# features -> Diff-2-in-1 fusion neck -> Bae's decoder (UG sampling, AngMF
# NLL). The released Diff-2-in-1 instance.
# Train: python tools/train.py configs/diff2in1/bae_nyu_normal.py
# Test:  python tools/test.py configs/diff2in1/bae_nyu_normal.py CKPT
_base_ = ['./_base_/sd15_features.py', '../_base_/default_runtime.py',
          '../_base_/datasets/nyu_normal.py']

model = dict(
    _delete_=True,
    type='DiffusionPerceptor',
    data_preprocessor=dict(type='DenseDataPreprocessor', size_divisor=64),
    backbone={{_base_.backbone}},
    # out_specs come from the head: EfficientNet-B5's
    # (2, 24) (4, 40) (8, 64) (16, 176) (32, 2048)
    neck={{_base_.neck}},
    head=dict(type='BaeNormalHead', norm='GN'),
    # SD-1.5 works at 512x512: 640x480 frames are resized (not
    # aspect-preserving) as the released code; predictions go back to 480x640
    input_size=(512, 512))

# NYUv2 normals in Bae et al.'s layout, Bae's pooled protocol
# (../_base_/datasets/nyu_normal.py); batch 8 (Diff-2-in-1 stage 1)
train_pipeline = _base_.nyu_normal_train_pipeline
test_pipeline = _base_.nyu_normal_test_pipeline
train_dataloader = _base_.nyu_normal_train_dataloader
val_dataloader = _base_.nyu_normal_test_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.nyu_normal_evaluator
test_evaluator = val_evaluator

# 50 epochs x 795 / 8 ~ 5000 iterations; Bae's AdamW (wd 0.01) with
# OneCycle (max lr 3.57e-4, div 25, final div 1e4), gradient norm clip 0.1
_iters = 5000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3.57e-4, weight_decay=0.01),
    clip_grad=dict(max_norm=0.1))
param_scheduler = [
    dict(type='OneCycleLR', eta_max=3.57e-4, total_steps=_iters,
         div_factor=25, final_div_factor=1e4, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=_iters,
                 val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=1000, max_keep_ckpts=2))
