# NYUv2 depth, Marigold protocol: 654 test images at native 640x480, GT in
# mm PNGs, valid (1e-3, 10) m, Eigen crop at evaluation (protocol 'nyu').
# See docs/dataset_prepare.md for the layout and split files.
# Evaluation part: method configs list it in `_base_` to evaluate on
# this dataset; the training part is nyu_depth_train.py.
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepth'),
    dict(type='PadToMultiple', size_divisor=8, keep_gt_at_ori=True),
    dict(type='PackDenseInputs'),
]

val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    # Marigold's list: "test/<scene>/rgb_XXXX.png test/<scene>/depth_XXXX.png
    # test/<scene>/filled_XXXX.png"; the converter's test.txt also works.
    dataset=dict(type='NYUv2Dataset', data_root='data/nyu_v2',
                 ann_file='test.txt', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='DepthMetric', protocol='auto')
test_evaluator = val_evaluator
