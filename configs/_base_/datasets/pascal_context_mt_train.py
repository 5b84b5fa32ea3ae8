# PASCAL-Context multi-task (InvPT / TaskPrompter): 4,998 train / 5,105 val,
# 512x512 by padding; semseg (21), human parts (7), saliency, normals.
# Training part (PASCAL-Context train split); the evaluation part is
# pascal_context_mt_eval.py.
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSemSeg'),
    dict(type='LoadSemSeg', key='gt_parsing', path_key='parsing_path',
         fill_missing=True),
    dict(type='LoadSaliency', threshold=0.5),
    dict(type='LoadNormal'),
    dict(type='RandomResize', ratio_range=(0.5, 2.0)),
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
    dataset=dict(type='PascalContextMTDataset', data_root='data/PASCAL_MT',
                 tasks=('semseg', 'human_parts', 'sal', 'normals'),
                 ann_file='ImageSets/Context/train.txt',
                 pipeline=train_pipeline))
