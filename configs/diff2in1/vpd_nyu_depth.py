# VPD depth on NYUv2 (the VPD row next to Table 2; mmseg 1.x recipe),
# stage 1 of Diff-2-in-1 on VPD: SD-1.5 output taps (no attention maps),
# one scene-category token per image (27 NYU scene types) through the text
# adapter, the UNet fine-tuned at lr x 0.01, VPDDepthHead (SILog 0.5).
# Train: python tools/train.py configs/diff2in1/vpd_nyu_depth.py
# Test:  python tools/test.py configs/diff2in1/vpd_nyu_depth.py CKPT
_base_ = [
    './_base_/vpd_sd15_features.py', '../_base_/datasets/nyu_depth_train.py',
    '../_base_/datasets/nyu_depth_eval.py', '../_base_/default_runtime.py'
]

# VPD's NYU scene categories (folders of the NYUv2 raw release). With a
# `category_id` in each sample's metainfo the context is that one class
# token (VPD); samples without one (NYUv2Dataset sets none) get all 27.
_nyu_scenes = ('basement', 'bathroom', 'bedroom', 'bookstore', 'cafe',
               'classroom', 'computer_lab', 'conference_room', 'dinette',
               'dining_room', 'exercise_room', 'foyer', 'furniture_store',
               'home_office', 'home_storage', 'indoor_balcony', 'kitchen',
               'laundry_room', 'living_room', 'office', 'office_kitchen',
               'playroom', 'printer_room', 'reception_room',
               'student_lounge', 'study', 'study_room')
model = dict(
    _delete_=True,
    type='DiffusionPerceptor',
    data_preprocessor=dict(type='DenseDataPreprocessor', size_divisor=64),
    backbone=dict(_base_.vpd_backbone, class_names=_nyu_scenes),
    neck=None,
    head=dict(type='VPDDepthHead', max_depth=10.0))

# 4 GPUs x 8 = 32, 25k iterations, AdamW lr 1e-3 wd 0.1, UNet lr x 0.01;
# linear warm-up from 3 % over 12k iterations, poly (0.9) to 3 % by 24k
train_dataloader = dict(batch_size=8)
_iters = 25000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.1),
    paramwise_cfg=dict(bias_decay_mult=0.0,
                       custom_keys={'backbone.unet': dict(lr_mult=0.01)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.03, by_epoch=False, begin=0,
         end=12000),
    dict(type='PolyLR', power=0.9, eta_min=3e-5, by_epoch=False,
         begin=12000, end=24000),
    dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=24000,
         end=_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=_iters,
                 val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=5000, max_keep_ckpts=2))
# metric depth, no alignment, Eigen crop, (1e-3, 10) m (mmseg's VPD metric)
val_evaluator = dict(_delete_=True, type='DepthMetric',
                     preset='mmseg_nyu')
test_evaluator = val_evaluator
