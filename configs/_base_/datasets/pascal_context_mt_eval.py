# PASCAL-Context multi-task (InvPT / TaskPrompter): 4,998 train / 5,105 val,
# 512x512 by padding; semseg (21), human parts (7), saliency, normals.
# Evaluation part: method configs list it in `_base_` to evaluate on
# this dataset; the training part is pascal_context_mt_train.py.
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSemSeg'),
    dict(type='LoadSemSeg', key='gt_parsing', path_key='parsing_path',
         fill_missing=True),
    dict(type='LoadSaliency', threshold=0.5),
    dict(type='LoadNormal'),
    dict(type='PadToMultiple', size_divisor=None, size=(512, 512)),
    dict(type='PackDenseInputs'),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='PascalContextMTDataset', data_root='data/PASCAL_MT',
                 tasks=('semseg', 'human_parts', 'sal', 'normals'),
                 ann_file='ImageSets/Context/val.txt', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
