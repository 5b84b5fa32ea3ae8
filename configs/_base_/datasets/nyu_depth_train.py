# NYUv2 depth, Marigold protocol: 654 test images at native 640x480, GT in
# mm PNGs, valid (1e-3, 10) m, Eigen crop at evaluation (protocol 'nyu').
# See docs/dataset_prepare.md for the layout and split files.
# Training part (NYUv2 train split); the evaluation part is nyu_depth_eval.py.
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='NormalizeDepth'),
    dict(type='PadToMultiple', size_divisor=8),
    dict(type='PackDenseInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='NYUv2Dataset', data_root='data/nyu_v2',
                 ann_file='train.txt', pipeline=train_pipeline))
