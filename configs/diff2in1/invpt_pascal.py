# Diff-2-in-1 on InvPT (Table 4), stage 1 (warm-up): PASCAL-Context semseg
# (21), human parts (7), saliency, normals and boundaries at 512x512. Same
# model as invpt_nyudmt.py with PASCAL's tasks.
# Train: python tools/train.py configs/diff2in1/invpt_pascal.py
# Test:  python tools/test.py configs/diff2in1/invpt_pascal.py CKPT
_base_ = [
    './_base_/sd15_features.py',
    '../_base_/datasets/pascal_context_mt_train.py',
    '../_base_/datasets/pascal_context_mt_eval.py',
    '../_base_/default_runtime.py', './_base_/schedule_multitask_40k.py'
]

_tasks = dict(semseg=21, parsing=7, saliency=2, normal=3, edge=1)
model = dict(
    _delete_=True,
    type='DiffusionPerceptor',
    data_preprocessor=dict(type='DenseDataPreprocessor', size_divisor=64),
    backbone=_base_.backbone,
    neck=_base_.neck,
    encoder=dict(type='TimmEncoder', model_name='vit_large_patch16_384',
                 pretrained=True, output='blocks', block_indices=(6, 12),
                 img_size=(512, 512), drop_path_rate=0.15),
    # brief 5.3 losses / weights: semseg CE x1, parts CE x2, saliency
    # balanced CE x5, normal L1 x10, edge balanced BCE x50
    head=dict(type='InvPTDecoder', num_outputs=_tasks,
              in_channels=(1024, 1024, 1024), in_strides=(8, 16, 32)))

# boundaries from the context labels (PascalContextMTDataset ships no edge
# files; ATRC's packaging thins the Laplacian of the same labels)
train_pipeline = _base_.train_pipeline[:5] + [
    dict(type='LoadEdge', from_key='gt_sem_seg')
] + _base_.train_pipeline[5:]
train_dataloader = dict(batch_size=6, dataset=dict(pipeline=train_pipeline))

# Delta_m against the published InvPT (Table 4 row)
# a list: a dict with `metrics` would be taken for an Evaluator config
val_evaluator = [dict(
    type='MultiTaskMetric',
    metrics=[
        dict(type='IoUMetric'),
        dict(type='IoUMetric', prefix='parsing', pred_field='pred_parsing',
             gt_field='gt_parsing', classes_key='part_classes'),
        # InvPT's meter: sigmoid of the probability before thresholding
        dict(type='SaliencyMetric', invpt_sigmoid=True),
        dict(type='NormalMetric', reduction='pooled'),
    ],
    delta_tasks=[
        dict(key='seg/mIoU', baseline=79.03, lower_is_better=False),
        dict(key='parsing/mIoU', baseline=67.61, lower_is_better=False),
        dict(key='sal/maxF', baseline=84.81, lower_is_better=False),
        dict(key='normal/mean', baseline=14.15, lower_is_better=True),
    ])]
test_evaluator = val_evaluator

default_hooks = dict(checkpoint=dict(interval=5000, max_keep_ckpts=2))
