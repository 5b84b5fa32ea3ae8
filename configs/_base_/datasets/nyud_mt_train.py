# NYUD-MT (InvPT / TaskPrompter): 795 train / 654 val at 425x560, padded to
# 448x576; semseg (40 classes), depth (.npy m), normals (Bae PNG).
# Training part (NYUD-MT train split); the evaluation part is nyud_mt_eval.py.
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSemSeg'),
    dict(type='LoadDepth'),
    dict(type='LoadNormal'),
    dict(type='RandomResize', ratio_range=(0.5, 2.0), scale_depth=True),
    dict(type='RandomCrop', crop_size=(448, 576), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PadToMultiple', size_divisor=None, size=(448, 576)),
    dict(type='PackDenseInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='NYUDMTDataset', data_root='data/NYUD_MT',
                 ann_file='gt_sets/train.txt', pipeline=train_pipeline))
