# NYUv2 depth, Marigold protocol: 654 test images at native 640x480, GT in
# mm PNGs, valid (1e-3, 10) m, Eigen crop at evaluation (protocol 'nyu').
# See docs/dataset_prepare.md for the layout and split files.
dataset_type = 'NYUv2Dataset'
data_root = 'data/nyu_v2'

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='NormalizeDepth'),
    dict(type='PadToMultiple', size_divisor=8),
    dict(type='PackDenseInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='PadToMultiple', size_divisor=8, keep_gt_at_ori=True),
    dict(type='PackDenseInputs'),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='train.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    # Marigold's list: "test/<scene>/rgb_XXXX.png test/<scene>/depth_XXXX.png
    # test/<scene>/filled_XXXX.png"; the converter's test.txt also works.
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='test.txt', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='DepthMetric', protocol='auto')
test_evaluator = val_evaluator
