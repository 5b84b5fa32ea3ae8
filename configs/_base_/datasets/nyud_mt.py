# NYUD-MT (InvPT / TaskPrompter): 795 train / 654 val at 425x560, padded to
# 448x576; semseg (40 classes), depth (.npy m), normals (Bae PNG).
dataset_type = 'NYUDMTDataset'
data_root = 'data/NYUD_MT'
crop_size = (448, 576)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSemSeg'),
    dict(type='LoadDepth'),
    dict(type='LoadNormal'),
    dict(type='RandomResize', ratio_range=(0.5, 2.0), scale_depth=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PadToMultiple', size_divisor=None, size=crop_size),
    dict(type='PackDenseInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSemSeg'),
    dict(type='LoadDepth'),
    dict(type='LoadNormal'),
    # InvPT scores on the padded grid; padding is ignore (255 / 0 / zero
    # normals) so the scores equal those on the original pixels.
    dict(type='PadToMultiple', size_divisor=None, size=crop_size),
    dict(type='PackDenseInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='gt_sets/train.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='gt_sets/val.txt', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
