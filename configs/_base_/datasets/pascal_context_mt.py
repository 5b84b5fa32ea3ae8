# PASCAL-Context multi-task (InvPT / TaskPrompter): 4,998 train / 5,105 val,
# 512x512 by padding; semseg (21), human parts (7), saliency, normals.
dataset_type = 'PascalContextMTDataset'
data_root = 'data/PASCAL_MT'
crop_size = (512, 512)
tasks = ('semseg', 'human_parts', 'sal', 'normals')

_load = [
    dict(type='LoadImage'),
    dict(type='LoadSemSeg'),
    dict(type='LoadSemSeg', key='gt_parsing', path_key='parsing_path',
         fill_missing=True),
    dict(type='LoadSaliency', threshold=0.5),
    dict(type='LoadNormal'),
]
train_pipeline = _load + [
    dict(type='RandomResize', ratio_range=(0.5, 2.0)),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PadToMultiple', size_divisor=None, size=crop_size),
    dict(type='PackDenseInputs'),
]
test_pipeline = _load + [
    dict(type='PadToMultiple', size_divisor=None, size=crop_size),
    dict(type='PackDenseInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, tasks=tasks,
                 ann_file='ImageSets/Context/train.txt',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, tasks=tasks,
                 ann_file='ImageSets/Context/val.txt', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
