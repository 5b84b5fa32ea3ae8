# ADE20K (150 classes) in the mmsegmentation layout; VPD-style 512x512.
# Training part (ADE20K training set); the evaluation part is ade20k_eval.py.
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSemSeg', reduce_zero_label=True),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0)),
    dict(type='RandomCrop', crop_size=(512, 512), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PadToMultiple', size_divisor=None, size=(512, 512)),
    dict(type='PackDenseInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='ADE20KDataset',
                 data_root='data/ade/ADEChallengeData2016',
                 data_prefix=dict(img_path='images/training',
                                  seg_map_path='annotations/training'),
                 pipeline=train_pipeline))
