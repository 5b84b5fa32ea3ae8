# Diff-2-in-1 on InvPT (Table 3), stage 1 (warm-up): NYUD-MT semseg (40),
# depth, normals and boundaries. Frozen SD-1.5 features -> fusion neck at
# strides 8 / 16 / 32 (InvPT's stage-2 skip, stage-1 skip and decoder input,
# 1024 channels) + InvPT's own ViT-L/16 maps (blocks 6, 12 and the final
# norm, bilinearly resized and added: paper A.1) -> InvPT decoder.
# Train: python tools/train.py configs/diff2in1/invpt_nyudmt.py
# Test:  python tools/test.py configs/diff2in1/invpt_nyudmt.py CKPT
_base_ = [
    './_base_/sd15_features.py', '../_base_/datasets/nyud_mt_train.py',
    '../_base_/datasets/nyud_mt_eval.py', '../_base_/default_runtime.py',
    './_base_/schedule_multitask_40k.py'
]

_tasks = dict(semseg=40, depth=1, normal=3, edge=1)
model = dict(
    _delete_=True,
    type='DiffusionPerceptor',
    data_preprocessor=dict(type='DenseDataPreprocessor', size_divisor=64),
    backbone=_base_.backbone,
    neck=_base_.neck,
    # ImageNet-21k -> 1k ViT-L/16 at 384 (timm weights by name; set
    # pretrained=False to train without the network), 448x576 crops,
    # drop-path 0.15, fine-tuned as InvPT
    encoder=dict(type='TimmEncoder', model_name='vit_large_patch16_384',
                 pretrained=True, output='blocks', block_indices=(6, 12),
                 img_size=(448, 576), drop_path_rate=0.15),
    # per-task losses and weights are InvPT's (brief 5.3): semseg CE x1,
    # depth L1 x1, normal L1 x10, edge balanced BCE x50, also on the
    # preliminary (1/32) predictions
    head=dict(type='InvPTDecoder', num_outputs=_tasks,
              in_channels=(1024, 1024, 1024), in_strides=(8, 16, 32)))

# boundaries: NYUD-MT's edge/<id>.png (scored offline with SEISM, not here)
_edge_templates = dict(img_path='images/{}.png',
                       seg_map_path='segmentation/{}.png',
                       depth_path='depth/{}.npy', normal_path='normals/{}.png',
                       edge_path='edge/{}.png')
train_pipeline = _base_.train_pipeline[:4] + [
    dict(type='LoadEdge', from_key=None)
] + _base_.train_pipeline[4:]
# InvPT: 3 GPUs x 2 = 6 images
train_dataloader = dict(
    batch_size=6,
    dataset=dict(templates=_edge_templates, pipeline=train_pipeline))

# Delta_m against the published InvPT (Table 3 row), i.e. how much the
# diffusion features add; InvPT's pooled metrics (depth: invpt_nyud preset)
# a list: a dict with `metrics` would be taken for an Evaluator config
val_evaluator = [dict(
    type='MultiTaskMetric',
    metrics=[
        dict(type='IoUMetric'),
        dict(type='DepthMetric', preset='invpt_nyud', metrics=['rmse']),
        dict(type='NormalMetric', reduction='pooled'),
    ],
    delta_tasks=[
        dict(key='seg/mIoU', baseline=53.56, lower_is_better=False),
        dict(key='depth/rmse', baseline=0.5183, lower_is_better=True),
        dict(key='normal/mean', baseline=19.04, lower_is_better=True),
    ])]
test_evaluator = val_evaluator

default_hooks = dict(checkpoint=dict(interval=5000, max_keep_ckpts=2))
