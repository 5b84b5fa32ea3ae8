# ADE20K (150 classes) in the mmsegmentation layout; VPD-style 512x512.
# Evaluation part: method configs list it in `_base_` to evaluate on
# this dataset; the training part is ade20k_train.py.
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSemSeg', reduce_zero_label=True),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True,
         keep_gt_at_ori=True),
    dict(type='PadToMultiple', size_divisor=8, keep_gt_at_ori=True),
    dict(type='PackDenseInputs'),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ADE20KDataset',
                 data_root='data/ade/ADEChallengeData2016',
                 data_prefix=dict(img_path='images/validation',
                                  seg_map_path='annotations/validation'),
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric')
test_evaluator = val_evaluator
